package Acme::Netkick::MB::Util;
use strict;
use warnings;

our $VERSION = '0.31';

sub count { return scalar @_ }

1;

=head1 NAME

Acme::Netkick::MB::Util - Count a list

=cut
