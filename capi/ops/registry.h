// The op registry: every operator is defined once here, with its inputs, typed attributes,
// shape and type inference and per-device kernels; the C API, the imperative path and (later)
// the graph executor all go through it.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/engine.h"
#include "ndarray/ndarray.h"
#include "ops/param.h"

namespace axle {

// What an op does with an output buffer (MXNet's OpReqType; codes match grad_req).
enum class OpReq { kNull = 0, kWrite = 1, kInplace = 2, kAdd = 3 };

struct OpDef;

// An op instance's attributes: the strings given and the parsed parameter struct.
struct NodeAttrs {
  const OpDef* op = nullptr;
  std::string name;  // the node name, for messages ("" imperatively)
  std::vector<std::pair<std::string, std::string>> dict;
  std::shared_ptr<void> parsed;
  template <class P>
  const P& get() const { return *static_cast<const P*>(parsed.get()); }
  // "Convolution(conv1)" or "broadcast_add" for messages (inline: the CUDA backend uses it too).
  inline std::string Who() const;
};

class RandomState;

struct OpContext {
  RunContext run;
  bool is_train = false;
  RandomState* rng = nullptr;  // set for ops with needs_random
};

using FInferShape = std::function<void(const NodeAttrs&, std::vector<TShape>* in, std::vector<TShape>* out)>;
using FInferType = std::function<void(const NodeAttrs&, std::vector<int>* in, std::vector<int>* out)>;
using FCompute = std::function<void(const OpContext&, const NodeAttrs&, const std::vector<TBlob>& in,
                                    const std::vector<OpReq>& req, const std::vector<TBlob>& out)>;

struct NodeEntry;   // graph/node.h
class GradBuilder;  // graph/node.h
// The gradient of an op, expressed as a graph of other ops: given the forward node and the
// gradients of its outputs, one entry per input (see graph/node.h). Executors and the
// imperative AxOpGradient both run it.
using FGradient = std::function<std::vector<NodeEntry>(const GradBuilder&)>;

struct OpDef {
  std::string name;
  std::string doc;
  std::vector<std::string> input_names;  // fixed inputs (empty + key_var_num_args for variadic)
  std::string key_var_num_args;          // attribute holding the input count of a variadic op
  // (optional) the input count when it depends on attributes (Convolution's no_bias drops
  // `bias`): a prefix of input_names.
  std::function<int(const NodeAttrs&)> num_inputs;
  ParamSchema params;
  std::function<int(const NodeAttrs&)> num_outputs = [](const NodeAttrs&) { return 1; };
  std::vector<std::string> output_names = {"output"};
  // (optional) the output names when they depend on attributes (SliceChannel: output0, ...)
  std::function<std::vector<std::string>(const NodeAttrs&)> list_output_names;
  // (optional) attributes of the variable that symbol composition creates for a missing input
  // (BatchNorm's moving_mean gets __init__ = ["zero", {}], as in MXNet)
  std::function<void(int input, std::vector<std::pair<std::string, std::string>>* attrs)> input_var_attrs;
  // Outputs a symbol shows (BatchNorm computes 3, shows 1); unset means all of them.
  std::function<int(const NodeAttrs&)> num_visible_outputs;
  std::vector<int> mutate_inputs;        // inputs the op writes (aux states)
  bool needs_random = false;             // reads and advances the device's random state
  bool may_block = false;                // may wait for other ops (a testing aid): never run by the
                                         // pushing thread (Engine::PushSmall)
  bool needs_ctx_attr = false;           // has no inputs: the output device comes from attr "ctx"
  std::vector<std::pair<int, int>> inplace;  // (input, output) pairs that may share memory

  FInferShape infer_shape;
  FInferType infer_type;
  FCompute compute_cpu;
  FCompute compute_gpu;  // (optional) filled by the CUDA backend
  FGradient gradient;    // (optional)

  int NumInputs(const NodeAttrs& attrs) const;
  int NumVisibleOutputs(const NodeAttrs& attrs) const {
    return num_visible_outputs ? num_visible_outputs(attrs) : num_outputs(attrs);
  }
};

std::string NodeAttrs::Who() const {
  std::string n = op ? op->name : std::string("?");
  return name.empty() ? n : n + "(" + name + ")";
}

class OpRegistry {
 public:
  static OpRegistry* Get();
  OpDef& Add(const std::string& name);
  // Another name for the same op (MXNet's add_alias).
  void Alias(const std::string& alias, const std::string& name);
  const OpDef* Find(const std::string& name) const;
  const std::vector<std::string>& Names() const { return names_; }
 private:
  std::map<std::string, OpDef*> ops_;
  std::vector<std::string> names_;
};

// Parses string attributes against op's schema; unknown keys are errors unless they start with
// "__" (graph hints). Errors name the op and the attribute.
NodeAttrs ParseAttrs(const OpDef* op, std::vector<std::pair<std::string, std::string>> dict,
                     const std::string& node_name = "");

// Shape/type inference helpers shared by many ops.
// Merges `b` into `a` (unknown dims take the other's); false on a conflict.
bool ShapeAssign(TShape* a, const TShape& b);
// Every known input and output must agree on one shape; fills the unknown ones.
void SameShape(const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out);
void SameType(const NodeAttrs& attrs, std::vector<int>* in, std::vector<int>* out);
std::string InputName(const NodeAttrs& attrs, size_t i);

#define AX_CONCAT_INNER(a, b) a##b
#define AX_CONCAT(a, b) AX_CONCAT_INNER(a, b)
// AX_REGISTER_OP(name) { op.doc = ...; ... } -- runs at library load.
#define AX_REGISTER_OP(opname)                                                    \
  static void AX_CONCAT(AxRegister_, __LINE__)(::axle::OpDef & op);              \
  static const bool AX_CONCAT(ax_registered_, __LINE__) =                        \
      (AX_CONCAT(AxRegister_, __LINE__)(::axle::OpRegistry::Get()->Add(opname)), true); \
  static void AX_CONCAT(AxRegister_, __LINE__)(::axle::OpDef & op)

}  // namespace axle
