use strict;
use warnings;
use Test::More tests => 2;
use Acme::Netkick::Pure;
is(Acme::Netkick::Pure::total(1, 2, 3), 6, 'adds');
is(Acme::Netkick::Pure::total(), 0, 'empty list');
