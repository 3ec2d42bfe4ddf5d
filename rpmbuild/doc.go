// Package rpmbuild turns a CPAN distribution tarball into an RPM that never
// clobbers the vendor's perl: the spec it writes installs into site_perl
// (INSTALLDIRS=site / --installdirs site) and packages no generated man pages,
// so the package neither conflicts with nor silently overwrites files owned by
// the distribution's perl package. It also repairs specs written elsewhere in
// the same two ways (FixSpec), runs the real rpmbuild in a scratch topdir and
// refreshes a yum repository with createrepo_c (Build).
//
// Tarballs are read, never trusted: member paths with "..", absolute paths,
// links that leave the tree and names that are not CPAN dist names are refused
// before anything is unpacked.
package rpmbuild
