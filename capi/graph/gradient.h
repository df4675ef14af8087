// The gradient pass: from a graph's heads and their gradients, a graph computing the gradients
// of chosen entries, built from each op's registered gradient definition (FGradient).
#pragma once
#include <vector>

#include "graph/node.h"

namespace axle {

// Gradient entries of xs; an x that no head depends on gets an entry with node == nullptr.
// Several contributions to one entry are summed with add_n (ElementWiseSum).
std::vector<NodeEntry> Gradient(const std::vector<NodeEntry>& heads, const std::vector<NodeEntry>& head_grads,
                                const std::vector<NodeEntry>& xs);

}  // namespace axle
