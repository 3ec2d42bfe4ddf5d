package Acme::Netkick::Pure;
use strict;
use warnings;
use List::Util qw(sum);

our $VERSION = '1.02';

sub total { return sum(0, @_) }

1;

__END__

=head1 NAME

Acme::Netkick::Pure - Add up numbers, a pure-Perl test module

=head1 SYNOPSIS

  use Acme::Netkick::Pure;
  print Acme::Netkick::Pure::total(1, 2, 3);

=head1 DESCRIPTION

C<Acme::Netkick::Pure> adds up its arguments with L<List::Util>. It exists
to be packaged: its POD makes MakeMaker generate a man page that the RPM
must not ship.

=cut
