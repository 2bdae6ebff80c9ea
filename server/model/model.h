/* model.h - the door of server/model: exposition parsers (being written). */
#ifndef MODEL_MODEL_H
#define MODEL_MODEL_H
#include "core/core.h"
#endif
