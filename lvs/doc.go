// Package lvs turns an LVS cluster from the inventory (two directors, virtual
// services, real servers tagged lvs-real-server) into the files the machines
// need: piranha's lvs.cf, keepalived.conf, an `ipvsadm -R` rule set, and the
// real servers' loopback aliases and ARP sysctls. It also validates clusters
// (Validate) and reads an existing lvs.cf back (ParsePiranha). Everything here
// is pure: no files, no sockets; lvs/ipvs talks to the kernel.
package lvs
