use strict;
use warnings;
use Test::More tests => 2;
use Acme::Netkick::MB;
use Acme::Netkick::MB::Util;
is_deeply([Acme::Netkick::MB::numbers(1, 'a', 2.5)], [1, 2.5], 'keeps numbers');
is(Acme::Netkick::MB::Util::count(1, 2), 2, 'counts');
