// Running small graphs imperatively: each node is invoked on NDArrays as soon as its inputs are
// known. Used to apply an op's gradient definition to arrays (AxOpGradient), the way autograd
// and the executors' backward pass apply it to graphs.
#pragma once
#include <unordered_map>
#include <vector>

#include "graph/node.h"

namespace axle {

// Values of `heads`, with variables taken from `bound` (keyed by node).
std::vector<NDArray> EvalGraph(const std::vector<NodeEntry>& heads,
                               const std::unordered_map<const Node*, NDArray>& bound);

// Gradients of op's inputs given the gradients of its outputs.
std::vector<NDArray> OpGradient(const NodeAttrs& attrs, const std::vector<NDArray>& inputs,
                                const std::vector<NDArray>& ograds);

}  // namespace axle
