// Running one op on NDArrays: infer shapes and types, allocate outputs, push the kernel.
#pragma once
#include <memory>
#include <vector>

#include "ops/registry.h"

namespace axle {

// outputs: empty to allocate them, else arrays of the inferred shape and dtype to write into.
// The pushed kernel keeps the attributes: the shared form saves a copy.
void Invoke(std::shared_ptr<const NodeAttrs> attrs, const std::vector<NDArray>& inputs,
            std::vector<NDArray>* outputs);
void Invoke(const NodeAttrs& attrs, const std::vector<NDArray>& inputs, std::vector<NDArray>* outputs);
// AX_ERR_INVALID_ARGUMENT naming the op unless it takes n inputs.
void CheckNumInputs(const NodeAttrs& attrs, size_t n);

// Training mode of the calling thread (read by Invoke into OpContext::is_train).
bool IsTraining();
bool SetTraining(bool on);  // returns the previous value

// Parses "cpu(0)" / "gpu(1)" (MXNet's context strings); "" is cpu(0).
Context ParseContext(const std::string& s, const std::string& who);

}  // namespace axle
