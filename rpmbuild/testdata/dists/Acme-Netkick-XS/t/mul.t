use strict;
use warnings;
use Test::More tests => 1;
use Acme::Netkick::XS;
is(Acme::Netkick::XS::mul(6, 7), 42, 'multiplies in C');
