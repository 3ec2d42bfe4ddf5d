package Acme::Netkick::MB;
use strict;
use warnings;
use Scalar::Util qw(looks_like_number);

our $VERSION = '0.31';

sub numbers { return grep { looks_like_number($_) } @_ }

1;

__END__

=head1 NAME

Acme::Netkick::MB - Keep the numbers of a list, built with Module::Build

=head1 DESCRIPTION

A test module laid out for L<Module::Build>: F<Build.PL>, F<lib/> and F<t/>.

=cut
