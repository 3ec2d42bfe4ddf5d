// Package boot holds netkick's pure boot decisions: given the facts of a
// request (DHCP options, MAC, firmware arch) and the host from the inventory,
// which boot file, next server and pxelinux, iPXE or GRUB text the machine
// gets, and what a host's timeline says about a loader that never ran. It
// opens no sockets and reads no clock; dhcp, tftp and httpd ask it.
package boot
