# The netknobs grain (grains['netknobs']): put packaging/contrib/netknobs_facts.py
# of the netknobs source into the file roots as _grains/netknobs.py, then
#   salt '*' saltutil.sync_grains
#   salt '*' grains.get netknobs:status
#
# This state keeps the sysctl.d drop-in up to date ('netknobs fix --check'
# exits 1 when it would change, 0 when it is up to date).
netknobs-fix:
  cmd.run:
    - name: /usr/sbin/netknobs fix --write
    - unless: /usr/sbin/netknobs fix --check
