// Optimizer update ops (MXNet 1.x's sgd_update, sgd_mom_update, nag_mom_update, adam_update,
// rmsprop_update, rmspropalex_update, signsgd_update, signum_update, ftrl_update). Each returns the
// new weight (callers pass out=weight) and updates its state inputs (momentum, moments, ...) in
// place. Arithmetic follows MXNet's kernels operation for operation, in the weight's dtype (float
// for float16). clip_gradient / clip_weights clip when >= 0 (as MXNet's kernels do), so a negative
// value turns clipping off.
#include <cmath>

#include "ops/cpu/kernel.h"
#include "ops/optimizer_op.h"

namespace axle {
namespace {

using namespace ::axle::opt;  // NOLINT: the update steps (optimizer_op.h)

using B = ParamBuilder<OptParam>;
void FLr(B& b) { b.Field("lr", &OptParam::lr).Describe("Learning rate"); }
void FWd(B& b) {
  b.Field("wd", &OptParam::wd, 0.0f)
      .Describe("Weight decay augments the objective function with a regularization term that penalizes large "
                "weights. The penalty scales with the square of the magnitude of each weight.");
}
void FRescale(B& b) {
  b.Field("rescale_grad", &OptParam::rescale_grad, 1.0f).Describe("Rescale gradient to grad = rescale_grad*grad.");
}
void FClipGrad(B& b) {
  b.Field("clip_gradient", &OptParam::clip_gradient, -1.0f)
      .Describe("Clip gradient to the range of [-clip_gradient, clip_gradient] If clip_gradient <= 0, gradient "
                "clipping is turned off. grad = max(min(grad, clip_gradient), -clip_gradient).");
}
void FClipWeights(B& b) {
  b.Field("clip_weights", &OptParam::clip_weights, -1.0f)
      .Describe("Clip weights to the range of [-clip_weights, clip_weights] If clip_weights <= 0, weight clipping "
                "is turned off. weights = max(min(weights, clip_weights), -clip_weights).");
}
void FMomentum(B& b) {
  b.Field("momentum", &OptParam::momentum, 0.0f).Describe("The decay rate of momentum estimates at each epoch.");
}
void FLazy(B& b) {
  b.Field("lazy_update", &OptParam::lazy_update, true)
      .Describe("If true, lazy updates are applied if gradient's stype is row_sparse (dense arrays: no effect).");
}
void FEps(B& b) { b.Field("epsilon", &OptParam::epsilon, 1e-8f).Describe("A small constant for numerical stability."); }

void DescribeSGD(B& b) { FLr(b); FWd(b); FRescale(b); FClipGrad(b); FLazy(b); }
void DescribeSGDMom(B& b) { FLr(b); FMomentum(b); FWd(b); FRescale(b); FClipGrad(b); FLazy(b); }
void DescribeNAG(B& b) { FLr(b); FMomentum(b); FWd(b); FRescale(b); FClipGrad(b); }
void DescribeAdam(B& b) {
  FLr(b);
  b.Field("beta1", &OptParam::beta1, 0.9f).Describe("The decay rate for the 1st moment estimates.");
  b.Field("beta2", &OptParam::beta2, 0.999f).Describe("The decay rate for the 2nd moment estimates.");
  FEps(b); FWd(b); FRescale(b); FClipGrad(b); FLazy(b);
}
void DescribeRMSProp(B& b) {
  FLr(b);
  b.Field("gamma1", &OptParam::gamma1, 0.95f).Describe("The decay rate of momentum estimates.");
  FEps(b); FWd(b); FRescale(b); FClipGrad(b); FClipWeights(b);
}
void DescribeRMSPropAlex(B& b) {
  FLr(b);
  b.Field("gamma1", &OptParam::gamma1, 0.95f).Describe("Decay rate.");
  b.Field("gamma2", &OptParam::gamma2, 0.9f).Describe("Decay rate.");
  FEps(b); FWd(b); FRescale(b); FClipGrad(b); FClipWeights(b);
}
void DescribeSignSGD(B& b) { FLr(b); FWd(b); FRescale(b); FClipGrad(b); }
void DescribeSignum(B& b) {
  FLr(b); FMomentum(b); FWd(b); FRescale(b); FClipGrad(b);
  b.Field("wd_lh", &OptParam::wd_lh, 0.0f)
      .Describe("The amount of weight decay that does not go into gradient/momentum calculations, otherwise do "
                "weight decay algorithmically only.");
}
void DescribeFtrl(B& b) {
  FLr(b);
  b.Field("lamda1", &OptParam::lamda1, 0.01f).Describe("The L1 regularization coefficient.");
  b.Field("beta", &OptParam::beta, 1.0f).Describe("Per-Coordinate Learning Rate beta.");
  FWd(b); FRescale(b); FClipGrad(b);
}

template <class K, class = void>
constexpr bool kHasPost = false;
template <class K>
constexpr bool kHasPost<K, std::void_t<decltype(&K::template Post<float>)>> = true;

template <class K>
void UpdateCompute(const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                   const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const OptParam& prm = attrs.get<OptParam>();
  const int64_t n = out[0].Size();
  const OpReq rq = req[0];
  auto run = [&](auto tag) {
    using DType = decltype(tag);
    using T = std::conditional_t<std::is_same_v<DType, half_t>, float, DType>;
    const P<T> p(prm);
    const DType* w = in[0].ptr<DType>();
    const DType* g = in[1].ptr<DType>();
    DType* st[3] = {nullptr, nullptr, nullptr};
    for (int k = 0; k < K::kStates; ++k) st[k] = in[2 + k].ptr<DType>();
    DType* y = out[0].ptr<DType>();
    // The request and whether the gradient is clipped are fixed per call: each combination gets
    // its own loop (compile-time constants), which the compiler can vectorise.
    auto loop = [&](auto req_c, auto clip_c) {
      constexpr OpReq kReq = decltype(req_c)::value;
      P<T> pc = p;
      if constexpr (!decltype(clip_c)::value) pc.cg = T(-1);
      ParallelFor(n, kElemwiseGrain, [&, pc](int64_t b, int64_t e) {
        // locals, not closure members: the stores below cannot alias them, so the compiler
        // hoists the parameter tests out of the loop and vectorises it
        const P<T> q = pc;
        const DType* wl = w;
        const DType* gl = g;
        DType* yl = y;
        for (int64_t i = b; i < e; ++i) {
          T s[3];
          for (int k = 0; k < K::kStates; ++k) s[k] = static_cast<T>(st[k][i]);
          const T nw = K::Step(q, static_cast<T>(wl[i]), static_cast<T>(gl[i]), s);
          if constexpr (kReq == OpReq::kAdd) yl[i] = DType(static_cast<T>(yl[i]) + nw);
          else if constexpr (kReq != OpReq::kNull) yl[i] = DType(nw);
          if constexpr (kHasPost<K>) K::Post(q, static_cast<T>(wl[i]), static_cast<T>(gl[i]), s);
          for (int k = 0; k < K::kStates; ++k) st[k][i] = DType(s[k]);
        }
      });
    };
    using W = std::integral_constant<OpReq, OpReq::kWrite>;
    using A = std::integral_constant<OpReq, OpReq::kAdd>;
    using N = std::integral_constant<OpReq, OpReq::kNull>;
    const bool clip = p.cg >= T(0);
    if (rq == OpReq::kAdd) clip ? loop(A(), std::true_type()) : loop(A(), std::false_type());
    else if (rq == OpReq::kNull) clip ? loop(N(), std::true_type()) : loop(N(), std::false_type());
    else clip ? loop(W(), std::true_type()) : loop(W(), std::false_type());
  };
  switch (out[0].dtype) {
    case AX_FLOAT32: run(float()); break;
    case AX_FLOAT64: run(double()); break;
    case AX_FLOAT16: run(half_t()); break;
    default: Throw(AX_ERR_TYPE, attrs.Who(), ": weight must be float16, float32 or float64, got ", DTypeName(out[0].dtype));
  }
}

template <class K>
void DefineUpdate(OpDef& op, std::vector<std::string> inputs, void (*describe)(B&), const std::string& doc) {
  op.input_names = std::move(inputs);
  op.doc = doc;
  op.params = MakeSchema(describe);
  for (int k = 0; k < K::kStates; ++k) op.mutate_inputs.push_back(2 + k);
  op.inplace = {{0, 0}};
  op.infer_shape = SameShape;
  op.infer_type = [](const NodeAttrs& attrs, std::vector<int>* in, std::vector<int>* out) {
    SameType(attrs, in, out);
    const int t = (*out)[0];
    AX_CHECK(t < 0 || t == AX_FLOAT32 || t == AX_FLOAT64 || t == AX_FLOAT16, AX_ERR_TYPE, attrs.Who(),
             ": weight must be float16, float32 or float64, got ", DTypeName(t));
  };
  op.compute_cpu = UpdateCompute<K>;
}

}  // namespace

AX_REGISTER_OP("sgd_update") {
  DefineUpdate<SGD>(op, {"weight", "grad"}, DescribeSGD,
                    "SGD: weight = (1 - lr*wd)*weight - lr*clip(rescale_grad*grad, clip_gradient).");
}
AX_REGISTER_OP("sgd_mom_update") {
  DefineUpdate<SGDMom>(op, {"weight", "grad", "mom"}, DescribeSGDMom,
                       "SGD with momentum: mom = momentum*mom - lr*wd*weight - lr*clip(rescale_grad*grad); "
                       "weight += mom (mom is updated in place).");
}
AX_REGISTER_OP("nag_mom_update") {
  DefineUpdate<NAGMom>(op, {"weight", "grad", "mom"}, DescribeNAG,
                       "Nesterov accelerated SGD: mom = momentum*mom; weight += -mom + (momentum+1)*(mom - lr*(g + "
                       "wd*weight)); mom -= lr*(g + wd*weight), g = clip(rescale_grad*grad) (mom updated in place).");
}
AX_REGISTER_OP("adam_update") {
  DefineUpdate<Adam>(op, {"weight", "grad", "mean", "var"}, DescribeAdam,
                     "Adam: g = clip(rescale_grad*grad + wd*weight); mean = beta1*mean + (1-beta1)*g; var = "
                     "beta2*var + (1-beta2)*g^2; weight -= lr*mean/(sqrt(var) + epsilon) (mean, var in place).");
}
AX_REGISTER_OP("rmsprop_update") {
  DefineUpdate<RMSProp>(op, {"weight", "grad", "n"}, DescribeRMSProp,
                        "RMSProp (Tieleman & Hinton): g = clip(rescale_grad*grad + wd*weight); n = (1-gamma1)*g^2 + "
                        "gamma1*n; weight = clip(weight - lr*g/sqrt(n + epsilon), clip_weights) (n in place).");
}
AX_REGISTER_OP("rmspropalex_update") {
  DefineUpdate<RMSPropAlex>(op, {"weight", "grad", "n", "g", "delta"}, DescribeRMSPropAlex,
                            "RMSPropAlex (Graves 2013): n and g are running means of g^2 and g, delta = gamma2*delta "
                            "- lr*g/sqrt(n - g^2 + epsilon); weight = clip(weight + delta, clip_weights).");
}
AX_REGISTER_OP("signsgd_update") {
  DefineUpdate<SignSGD>(op, {"weight", "grad"}, DescribeSignSGD,
                        "SignSGD: weight = (1 - lr*wd)*weight - lr*sign(grad) (rescale_grad and clip_gradient have "
                        "no effect, as in MXNet).");
}
AX_REGISTER_OP("signum_update") {
  DefineUpdate<Signum>(op, {"weight", "grad", "mom"}, DescribeSignum,
                       "Signum: mom = momentum*mom - (1-momentum)*(wd*weight + clip(rescale_grad*grad)); weight = "
                       "(1 - lr*wd_lh)*weight + lr*sign(mom) (mom updated in place).");
}
AX_REGISTER_OP("ftrl_update") {
  DefineUpdate<Ftrl>(op, {"weight", "grad", "z", "n"}, DescribeFtrl,
                     "FTRL: g = clip(rescale_grad*grad); z += g - (sqrt(n + g^2) - sqrt(n))*weight/lr; n += g^2; "
                     "weight = (sign(z)*lamda1 - z)/((beta + sqrt(n))/lr + wd) * (|z| > lamda1) (z, n in place).");
}

}  // namespace axle
