/* model.c: being written. */
#include "model/model.h"
