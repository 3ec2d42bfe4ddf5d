package Acme::Netkick::XS;
use strict;
use warnings;
require XSLoader;

our $VERSION = '2.1';
XSLoader::load('Acme::Netkick::XS', $VERSION);

1;

__END__

=head1 NAME

Acme::Netkick::XS - Multiply two integers in C

=head1 DESCRIPTION

An XS test module: it compiles, so its RPM is arch-specific and installs
under the site arch directory.

=cut
