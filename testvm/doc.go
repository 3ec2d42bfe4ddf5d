// Package testvm is netkick's QEMU rig: it boots real virtual machines through
// a netkick server running inside a network namespace, with a mini installer
// (a Debian kernel plus a BusyBox initramfs it builds and caches) standing in
// for anaconda, and checks what the machines became: partition tables read
// back from their disk images, files their %post sections wrote, and a local
// boot on the next power-on.
package testvm
