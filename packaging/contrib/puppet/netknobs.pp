# Install the netknobs external fact ($facts['netknobs']) on a Puppet agent.
# The file is packaging/contrib/netknobs_facts.py of the netknobs source;
# put it in a module's files/ directory.  Facter runs executable files in
# its facts.d directories and reads their JSON output.
class netknobs::fact {
  file { ['/etc/puppetlabs/facter', '/etc/puppetlabs/facter/facts.d']:
    ensure => directory,
  }
  file { '/etc/puppetlabs/facter/facts.d/netknobs.py':
    ensure => file,
    mode   => '0755',
    source => 'puppet:///modules/netknobs/netknobs_facts.py',
  }
}

# Example use of the fact:
#   if $facts['netknobs'] and $facts['netknobs']['status'] == 'critical' {
#     notify { "netknobs: ${facts['netknobs']['verdict']}": }
#   }
