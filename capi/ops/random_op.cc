// Random sampling ops: _random_uniform, _random_normal, _random_randint, _shuffle.
// Draws come from the device's counter-based state (random_state.h): element i of an op uses
// draw (first + i), so results do not depend on the thread count.
#include "ops/cpu/kernel.h"
#include "ops/random_state.h"
#include "ops/random_op.h"

namespace axle {
namespace {

const std::vector<std::string> kDTypes = {"float32", "float64", "float16", "uint8", "int32", "int8", "int64", "bool"};


template <int kKind>  // 0 uniform, 1 normal, 2 randint
void DescribeSample(ParamBuilder<SampleParam>& b) {
  if (kKind == 1) {
    b.Field("loc", &SampleParam::a, 0.0).Describe("Mean of the distribution");
    b.Field("scale", &SampleParam::b, 1.0).Describe("Standard deviation of the distribution");
  } else if (kKind == 0) {
    b.Field("low", &SampleParam::a, 0.0).Describe("Lower bound (inclusive)");
    b.Field("high", &SampleParam::b, 1.0).Describe("Upper bound (exclusive)");
  } else {
    b.Field("low", &SampleParam::a).Describe("Lower bound (inclusive)");
    b.Field("high", &SampleParam::b).Describe("Upper bound (exclusive)");
  }
  b.Field("shape", &SampleParam::shape, IntTuple{}).Describe("Shape of the output");
  b.Field("ctx", &SampleParam::ctx, std::string()).Describe("The device");
  b.Enum("dtype", &SampleParam::dtype, kDTypes, "None", true)
      .Describe(kKind == 2 ? "Output dtype (None: int32)" : "Output dtype (None: float32)");
}

template <int kKind>
void DefineSample(OpDef& op, const std::string& doc) {
  op.doc = doc;
  op.needs_ctx_attr = true;
  op.needs_random = true;
  op.params = MakeSchema(DescribeSample<kKind>);
  op.infer_shape = [](const NodeAttrs& attrs, std::vector<TShape>*, std::vector<TShape>* out) {
    const auto& s = attrs.get<SampleParam>().shape;
    TShape t(s.begin(), s.end());
    CheckedSize(t, attrs.Who().c_str());
    if (!ShapeAssign(&(*out)[0], t))
      Throw(AX_ERR_SHAPE, attrs.Who(), ": output shape ", (*out)[0].str(), " does not match ", t.str());
  };
  op.infer_type = [](const NodeAttrs& attrs, std::vector<int>*, std::vector<int>* out) {
    int t = attrs.get<SampleParam>().dtype;
    (*out)[0] = t >= 0 ? t : (kKind == 2 ? AX_INT32 : AX_FLOAT32);
  };
  op.compute_cpu = [](const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>&,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    const auto& p = attrs.get<SampleParam>();
    const int64_t n = out[0].Size();
    if (kKind == 0 || kKind == 2)
      AX_CHECK(p.a < p.b || (kKind == 0 && p.a == p.b), AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": low (", p.a,
               ") must be less than high (", p.b, ")");
    if (kKind == 1) AX_CHECK(p.b >= 0, AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": scale must be >= 0, got ", p.b);
    const uint64_t key = ctx.rng->key();
    const uint64_t first = ctx.rng->Reserve(static_cast<uint64_t>(n) * (kKind == 1 ? 2 : 1));
    const double a = p.a, b = p.b;
    AX_TYPE_SWITCH(out[0].dtype, DType, {
      MapIndex(n, req[0], out[0].ptr<DType>(), [=](int64_t i) {
        if constexpr (kKind == 0) {
          return Cast<DType>(a + (b - a) * RandomState::Uniform(key, first + i));
        } else if constexpr (kKind == 1) {  // Box-Muller on a pair of draws per element
          double u1 = RandomState::Uniform(key, first + 2 * i), u2 = RandomState::Uniform(key, first + 2 * i + 1);
          double r = std::sqrt(-2.0 * std::log(1.0 - u1));
          return Cast<DType>(a + b * r * std::cos(6.283185307179586 * u2));
        } else {
          uint64_t range = static_cast<uint64_t>(static_cast<int64_t>(b) - static_cast<int64_t>(a));
          return Cast<DType>(static_cast<double>(static_cast<int64_t>(a) +
                                                 static_cast<int64_t>(RandomState::Bits(key, first + i) % range)));
        }
      });
    });
  };
}

}  // namespace

AX_REGISTER_OP("_random_uniform") { DefineSample<0>(op, "Samples from the uniform distribution on [low, high)."); }
AX_REGISTER_OP("_random_normal") { DefineSample<1>(op, "Samples from the normal distribution N(loc, scale**2)."); }
AX_REGISTER_OP("_random_randint") { DefineSample<2>(op, "Samples integers uniformly from [low, high)."); }

}  // namespace axle

namespace {
const bool ax_random_aliases = [] {
  auto* r = axle::OpRegistry::Get();
  r->Alias("random_uniform", "_random_uniform");
  r->Alias("uniform", "_random_uniform");
  r->Alias("random_normal", "_random_normal");
  r->Alias("normal", "_random_normal");
  r->Alias("random_randint", "_random_randint");
  return true;
}();
}
