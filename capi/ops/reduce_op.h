// The reduction kernels' entry points that other op families use.
#pragma once
#include "ops/registry.h"

namespace axle {

// Sums `in` down to `out`'s shape, which broadcasts to in's (right-aligned): the gradient of
// numpy broadcasting. Uses the reductions' vectorised, parallel kernel.
void SumToShape(const TBlob& in, const TBlob& out, OpReq req);
// Repeats `in` along the axes where it broadcasts to `out`'s shape (broadcast_like).
void BroadcastToShape(const TBlob& in, const TBlob& out, OpReq req);

}  // namespace axle
