#include "EXTERN.h"
#include "perl.h"
#include "XSUB.h"

MODULE = Acme::Netkick::XS  PACKAGE = Acme::Netkick::XS

IV
mul(a, b)
    IV a
    IV b
  CODE:
    RETVAL = a * b;
  OUTPUT:
    RETVAL
