// The C functions behind window.advx (web/advx_api.js). They act on the App given here, on the
// model its state names. Also compiled natively (plain C functions) so they can be tested there.
#pragma once
#include "frontend/app.h"

namespace play {
void api_attach(App* app);  // not owned; the App outlives every call
}
