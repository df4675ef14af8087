#include "ops/imperative.h"

#include <map>
#include <mutex>

#include "common/backend.h"
#include "ops/random_state.h"

namespace axle {

namespace {
thread_local bool g_training = false;
}
bool IsTraining() { return g_training; }
bool SetTraining(bool on) {
  bool prev = g_training;
  g_training = on;
  return prev;
}

Context ParseContext(const std::string& s, const std::string& who) {
  if (s.empty()) return Context::CPU();
  Context c;
  int id = 0;
  char tail = 0;
  if (std::sscanf(s.c_str(), "cpu(%d)%c", &id, &tail) == 1) {
    c.dev_type = AX_CPU;
  } else if (std::sscanf(s.c_str(), "gpu(%d)%c", &id, &tail) == 1) {
    c.dev_type = AX_GPU;
  } else if (s == "cpu") {
    c.dev_type = AX_CPU;
  } else if (s == "gpu") {
    c.dev_type = AX_GPU;
  } else {
    Throw(AX_ERR_INVALID_ARGUMENT, who, ": invalid context '", s, "' (expected cpu(N) or gpu(N))");
  }
  c.dev_id = id;
  return c;
}

DeviceRandom* GetDeviceRandom(const Context& ctx) {
  static std::mutex mu;
  static auto* states = new std::map<std::pair<int, int>, DeviceRandom*>();
  std::lock_guard<std::mutex> lk(mu);
  auto& r = (*states)[{ctx.dev_type, ctx.dev_id}];
  if (!r) {
    r = new DeviceRandom();
    r->var = Engine::Get()->NewResourceVar();
  }
  return r;
}

void SeedAll(int seed) {
  std::vector<Context> ctxs = {Context::CPU()};
  for (int i = 0; i < GpuCount(); ++i) ctxs.push_back(Context{AX_GPU, i});
  for (auto& c : ctxs) {
    DeviceRandom* r = GetDeviceRandom(c);
    // each device gets its own stream, derived from the seed and the device
    uint64_t s = static_cast<uint64_t>(static_cast<uint32_t>(seed)) * 1000003ull + c.dev_type * 131ull + c.dev_id;
    Engine::Get()->Push([r, s](const RunContext&) { r->state.Seed(s); }, Context::CPU(), {}, {r->var}, "seed");
  }
}

namespace {
// Two arrays share bytes but are not the same view (same start and size).
bool PartialOverlap(const NDArray& a, const NDArray& b) {
  if (a.chunk() != b.chunk()) return false;
  const char* pa = static_cast<const char*>(a.dptr());
  const char* pb = static_cast<const char*>(b.dptr());
  size_t na = a.nbytes(), nb = b.nbytes();
  if (pa == pb && na == nb) return false;
  return pa < pb + nb && pb < pa + na;
}
}  // namespace

void CheckNumInputs(const NodeAttrs& attrs, size_t n) {
  const int n_in = attrs.op->NumInputs(attrs);
  AX_CHECK(n_in < 0 || static_cast<int>(n) == n_in, AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": expected ", n_in,
           " input(s), got ", n);
}

void Invoke(const NodeAttrs& attrs, const std::vector<NDArray>& inputs, std::vector<NDArray>* outputs) {
  Invoke(std::make_shared<const NodeAttrs>(attrs), inputs, outputs);
}

void Invoke(std::shared_ptr<const NodeAttrs> shared_attrs, const std::vector<NDArray>& inputs,
            std::vector<NDArray>* outputs) {
  const NodeAttrs& attrs = *shared_attrs;
  const OpDef* op = attrs.op;
  CheckNumInputs(attrs, inputs.size());
  const int n_out = op->num_outputs(attrs);
  // Given outputs: all of them, or the visible ones (the hidden ones are then allocated here).
  const int n_given = static_cast<int>(outputs->size());
  AX_CHECK(n_given == 0 || n_given == n_out || n_given == op->NumVisibleOutputs(attrs), AX_ERR_INVALID_ARGUMENT,
           attrs.Who(), ": expected ", n_out, " output array(s), got ", outputs->size());

  // device
  Context ctx;
  if (!inputs.empty()) {
    ctx = inputs[0].ctx();
    for (size_t i = 1; i < inputs.size(); ++i)
      AX_CHECK(inputs[i].ctx() == ctx, AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": input '", InputName(attrs, i),
               "' is on ", inputs[i].ctx().str(), " but input '", InputName(attrs, 0), "' is on ", ctx.str());
  } else if (!outputs->empty()) {
    ctx = (*outputs)[0].ctx();
  } else if (op->needs_ctx_attr) {
    std::string c;
    for (auto& kv : attrs.dict)
      if (kv.first == "ctx") c = kv.second;
    ctx = ParseContext(c, attrs.Who());
  }
  CheckContext(ctx);

  // shapes and types
  std::vector<TShape> ishape(inputs.size()), oshape(n_out);
  std::vector<int> itype(inputs.size()), otype(n_out, -1);
  for (size_t i = 0; i < inputs.size(); ++i) {
    ishape[i] = inputs[i].shape();
    itype[i] = inputs[i].dtype();
  }
  for (size_t i = 0; i < outputs->size(); ++i) {
    oshape[i] = (*outputs)[i].shape();
    otype[i] = (*outputs)[i].dtype();
  }
  std::vector<TShape> given_shape = oshape;
  std::vector<int> given_type = otype;
  if (op->infer_shape) op->infer_shape(attrs, &ishape, &oshape);
  if (op->infer_type) op->infer_type(attrs, &itype, &otype);
  for (int i = 0; i < n_out; ++i) {
    AX_CHECK(oshape[i].known(), AX_ERR_SHAPE, attrs.Who(), ": cannot infer the shape of output ", i);
    AX_CHECK(otype[i] >= 0, AX_ERR_TYPE, attrs.Who(), ": cannot infer the dtype of output ", i);
  }
  if (outputs->empty()) {
    outputs->reserve(n_out);
    for (int i = 0; i < n_out; ++i) outputs->emplace_back(oshape[i], ctx, otype[i]);
  } else {
    for (int i = 0; i < n_given; ++i) {
      AX_CHECK(given_shape[i] == oshape[i], AX_ERR_SHAPE, attrs.Who(), ": output ", i, " has shape ",
               given_shape[i].str(), ", expected ", oshape[i].str());
      AX_CHECK(given_type[i] == otype[i], AX_ERR_TYPE, attrs.Who(), ": output ", i, " has dtype ",
               DTypeName(given_type[i]), ", expected ", DTypeName(otype[i]));
      AX_CHECK((*outputs)[i].ctx() == ctx, AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": output ", i, " is on ",
               (*outputs)[i].ctx().str(), ", expected ", ctx.str());
    }
    for (int i = n_given; i < n_out; ++i) outputs->emplace_back(oshape[i], ctx, otype[i]);
  }

  // An input that overlaps an output without being the very same view (a[1:] = a[:-1]) is read
  // from a copy, so the kernel never reads what it has already overwritten.
  std::vector<NDArray> copies;
  const std::vector<NDArray>* in_arrays = &inputs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    bool mutated = false;
    for (int m : op->mutate_inputs) mutated |= (static_cast<size_t>(m) == i);
    for (auto& o : *outputs) {
      if (mutated || !PartialOverlap(inputs[i], o)) continue;
      if (copies.empty()) {
        copies = inputs;
        in_arrays = &copies;
      }
      static const OpDef* copy_op = OpRegistry::Get()->Find("_copy");
      std::vector<NDArray> tmp;
      Invoke(ParseAttrs(copy_op, {}), {inputs[i]}, &tmp);
      copies[i] = tmp[0];
      break;
    }
  }
  const std::vector<NDArray>& ins = *in_arrays;

  const bool gpu = ctx.dev_type == AX_GPU;
  AX_CHECK(gpu ? op->compute_gpu : op->compute_cpu, AX_ERR_NOT_SUPPORTED, attrs.Who(), ": no kernel for ", ctx.str());

  std::vector<VarPtr> reads, writes;
  reads.reserve(ins.size());
  for (auto& a : ins) reads.push_back(a.var());
  for (auto& a : *outputs) writes.push_back(a.var());
  for (int i : op->mutate_inputs) writes.push_back(ins.at(i).var());
  DeviceRandom* rnd = nullptr;
  if (op->needs_random) {
    rnd = GetDeviceRandom(ctx);
    writes.push_back(rnd->var);
  }
  std::vector<TBlob> in_blobs, out_blobs;
  in_blobs.reserve(ins.size());
  for (auto& a : ins) in_blobs.push_back(a.blob());
  for (auto& a : *outputs) out_blobs.push_back(a.blob());
  // Keep the storage alive until the op has run: capture the chunks.
  std::vector<std::shared_ptr<Chunk>> keep;
  keep.reserve(ins.size() + outputs->size());
  for (auto& a : ins) keep.push_back(a.chunk());
  for (auto& a : *outputs) keep.push_back(a.chunk());
  // An op on small arrays is cheap: when the engine is idle the calling thread runs it itself
  // (Engine::PushSmall). AXLE_ENGINE_INLINE_BYTES bounds the bytes of its inputs and outputs.
  static const int64_t inline_bytes = EnvInt("AXLE_ENGINE_INLINE_BYTES", 1 << 20, 0);
  int64_t bytes = 0;
  for (auto& b : in_blobs) bytes += b.Size() * static_cast<int64_t>(DTypeSize(b.dtype));
  for (auto& b : out_blobs) bytes += b.Size() * static_cast<int64_t>(DTypeSize(b.dtype));
  const bool small = !gpu && !op->may_block && bytes <= inline_bytes;
  OpFn fn = [attrs = std::move(shared_attrs), gpu, train = g_training, in_blobs = std::move(in_blobs),
             out_blobs = std::move(out_blobs), keep = std::move(keep), rnd](const RunContext& rctx) {
    OpContext octx;
    octx.run = rctx;
    octx.rng = rnd ? &rnd->state : nullptr;
    octx.is_train = train;
    std::vector<OpReq> req(out_blobs.size(), OpReq::kWrite);
    (gpu ? attrs->op->compute_gpu : attrs->op->compute_cpu)(octx, *attrs, in_blobs, req, out_blobs);
  };
  if (small) {
    Engine::Get()->PushSmall(std::move(fn), ctx, std::move(reads), std::move(writes), op->name.c_str());
  } else {
    Engine::Get()->Push(std::move(fn), ctx, std::move(reads), std::move(writes), op->name.c_str());
  }
}

}  // namespace axle
