// Activation (relu, sigmoid, tanh, softrelu, softsign) and LeakyReLU (leaky, elu, prelu, selu,
// gelu), with backward ops that compute the input gradient in one pass.
#include "graph/grad_util.h"
#include "ops/activation_op.h"
#include "ops/cpu/gemm.h"
#include "ops/cpu/math_functors.h"
#include "ops/cpu/vec_math.h"

namespace axle {
namespace {

// ---- Activation ---------------------------------------------------------------------------
void DescribeAct(ParamBuilder<ActParam>& b) {
  b.Enum("act_type", &ActParam::act_type, {"relu", "sigmoid", "softrelu", "softsign", "tanh"}, "")
      .Describe("Activation function to be applied.");
}

void FloatSameType(const NodeAttrs& attrs, std::vector<int>* in, std::vector<int>* out) {
  SameType(attrs, in, out);
  CheckFloatType(attrs, (*out)[0], "data");
}

// Calls body(std::integral_constant<int, t>()) for the runtime t in [0, N): kernels get the
// activation kind as a compile-time constant (no switch per element).
template <int N, class Body, int... Ks>
void KindSwitchImpl(int t, Body&& body, std::integer_sequence<int, Ks...>) {
  ((t == Ks ? (body(std::integral_constant<int, Ks>()), true) : false) || ...);
}
template <int N, class Body>
void KindSwitch(int t, Body&& body) {
  KindSwitchImpl<N>(t, body, std::make_integer_sequence<int, N>());
}

// ---- LeakyReLU ----------------------------------------------------------------------------
void DescribeLeaky(ParamBuilder<LeakyParam>& b) {
  b.Enum("act_type", &LeakyParam::act_type, {"elu", "gelu", "leaky", "prelu", "rrelu", "selu"}, "leaky")
      .Describe("Activation function to be applied (rrelu is not supported).");
  b.Field("slope", &LeakyParam::slope, 0.25f).Describe("Init slope for the activation. (For leaky and elu only)");
  b.Field("lower_bound", &LeakyParam::lower_bound, 0.125f)
      .Describe("Lower bound of random slope. (For rrelu only)");
  b.Field("upper_bound", &LeakyParam::upper_bound, 0.334f)
      .Describe("Upper bound of random slope. (For rrelu only)");
}

const LeakyParam& LParam(const NodeAttrs& attrs) {
  const auto& p = attrs.get<LeakyParam>();
  AX_CHECK(p.act_type != kRrelu, AX_ERR_NOT_SUPPORTED, attrs.Who(), ": act_type 'rrelu' is not supported");
  return p;
}

void LeakyShape(const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
  const auto& p = LParam(attrs);
  if (p.act_type == kPrelu) {
    std::vector<TShape> a = {(*in)[0]};
    SameShape(attrs, &a, out);
    (*in)[0] = a[0];
    const TShape& d = (*in)[0];
    TShape& g = (*in)[1];
    if (d.ndim_known()) {
      AX_CHECK(d.ndim() >= 1, AX_ERR_SHAPE, attrs.Who(), ": prelu needs data with at least one axis, got ", d.str());
      if (!g.ndim_known()) g = TShape{d.ndim() > 1 ? d[1] : d[0]};
      int64_t g0, g1;
      if (d.known() && g.known())
        AX_CHECK(ExpandGamma(g, d, &g0, &g1), AX_ERR_SHAPE, attrs.Who(), ": cannot broadcast gamma ", g.str(),
                 " to data ", d.str(), " (gamma runs along axis 1, or 0)");
    }
  } else {
    SameShape(attrs, in, out);
  }
}

}  // namespace

AX_REGISTER_OP("Activation") {
  op.input_names = {"data"};
  op.doc =
      "Applies an activation function elementwise: relu max(x, 0), sigmoid 1/(1+exp(-x)), tanh, softrelu "
      "log(1+exp(x)), softsign x/(1+|x|).";
  op.params = MakeSchema(DescribeAct);
  op.infer_shape = SameShape;
  op.infer_type = FloatSameType;
  op.inplace = {{0, 0}};
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    const int t = attrs.get<ActParam>().act_type;
    if ((t == kTanh || t == kSigmoid) && vmath::RunFloat32(t == kTanh ? vmath::kTanh : vmath::kSigmoid, in[0], out[0], req[0]))
      return;  // float32: vectorised
    AX_FLOAT_TYPE_SWITCH(out[0].dtype, DType, attrs.Who(), {
      using F = fn::A<DType>;
      const DType* x = in[0].ptr<DType>();
      KindSwitch<5>(t, [&](auto kind) {
        MapIndex(out[0].Size(), req[0], out[0].ptr<DType>(), [=](int64_t i) { return ActForward<F>(kind(), F(x[i])); });
      });
    });
  };
  op.gradient = [](const GradBuilder& g) -> std::vector<NodeEntry> {
    // only softsign's derivative reads the input; the others need the output alone, so the
    // forward may overwrite its input in place (the data slot then holds the output, unread)
    const bool needs_input = g.attrs().get<ActParam>().act_type == kSoftsign;
    return {g.Make("_backward_Activation", {OGrad(g), needs_input ? In(g, 0) : FwdOut(g), FwdOut(g)}, g.attr_dict())};
  };
}

AX_REGISTER_OP("_backward_Activation") {
  op.input_names = {"ograd", "data", "output"};
  op.doc = "Gradient of Activation with respect to its input.";
  op.params = MakeSchema(DescribeAct);
  op.infer_shape = SameShape;
  op.infer_type = FloatSameType;
  op.inplace = {{0, 0}};
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    const int t = attrs.get<ActParam>().act_type;
    AX_FLOAT_TYPE_SWITCH(out[0].dtype, DType, attrs.Who(), {
      using F = fn::A<DType>;
      const DType* dy = in[0].ptr<DType>();
      const DType* x = in[1].ptr<DType>();
      const DType* y = in[2].ptr<DType>();
      KindSwitch<5>(t, [&](auto kind) {
        MapIndex(out[0].Size(), req[0], out[0].ptr<DType>(),
                 [=](int64_t i) { return F(dy[i]) * ActDeriv<F>(kind(), F(x[i]), F(y[i])); });
      });
    });
  };
}

AX_REGISTER_OP("LeakyReLU") {
  op.input_names = {"data", "gamma"};
  op.num_inputs = [](const NodeAttrs& attrs) { return attrs.get<LeakyParam>().act_type == kPrelu ? 2 : 1; };
  op.doc =
      "Leaky rectified linear units: leaky x>0 ? x : slope*x; elu x>0 ? x : slope*(exp(x)-1); selu "
      "lambda*(x>0 ? x : alpha*(exp(x)-1)); gelu x*Phi(x); prelu x>0 ? x : gamma*x with a learned gamma along "
      "axis 1 (input gamma).";
  op.params = MakeSchema(DescribeLeaky);
  op.infer_shape = LeakyShape;
  op.infer_type = FloatSameType;
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    if (req[0] == OpReq::kNull) return;
    const auto& p = attrs.get<LeakyParam>();
    const int t = p.act_type;
    AX_FLOAT_TYPE_SWITCH(out[0].dtype, DType, attrs.Who(), {
      using F = fn::A<DType>;
      const DType* x = in[0].ptr<DType>();
      DType* y = out[0].ptr<DType>();
      if (t == kPrelu) {
        PreluView v(in[0].shape, in[1].shape);
        const DType* g = in[1].ptr<DType>();
        const bool add = req[0] == OpReq::kAdd;
        ParallelFor(v.D0 * v.D1, std::max<int64_t>(1, kElemwiseGrain / std::max<int64_t>(v.inner, 1)),
                    [&](int64_t b, int64_t e) {
                      for (int64_t o = b; o < e; ++o) {
                        const F s = F(g[v.gi(o / v.D1, o % v.D1)]);
                        const DType* xr = x + o * v.inner;
                        DType* yr = y + o * v.inner;
                        for (int64_t j = 0; j < v.inner; ++j) {
                          F r = F(xr[j]) > F(0) ? F(xr[j]) : s * F(xr[j]);
                          yr[j] = add ? DType(F(yr[j]) + r) : DType(r);
                        }
                      }
                    });
      } else {
        const F slope = F(p.slope);
        KindSwitch<6>(t, [&](auto kind) {
          MapIndex(out[0].Size(), req[0], y, [=](int64_t i) { return LeakyForward<F>(kind(), F(x[i]), slope); });
        });
      }
    });
  };
  op.gradient = [](const GradBuilder& g) -> std::vector<NodeEntry> {
    if (g.attrs().get<LeakyParam>().act_type == kPrelu) {
      NodePtr n = g.MakeMulti("_backward_LeakyReLU", {OGrad(g), In(g, 0), In(g, 1)}, g.attr_dict());
      return {Out(n, 0), Out(n, 1)};
    }
    return {g.Make("_backward_LeakyReLU", {OGrad(g), In(g, 0)}, g.attr_dict())};
  };
}

AX_REGISTER_OP("_backward_LeakyReLU") {
  op.input_names = {"ograd", "data", "gamma"};
  op.num_inputs = [](const NodeAttrs& attrs) { return attrs.get<LeakyParam>().act_type == kPrelu ? 3 : 2; };
  op.num_outputs = [](const NodeAttrs& attrs) { return attrs.get<LeakyParam>().act_type == kPrelu ? 2 : 1; };
  op.output_names = {"data_grad", "gamma_grad"};
  op.doc = "Gradient of LeakyReLU with respect to data (and gamma for prelu).";
  op.params = MakeSchema(DescribeLeaky);
  op.infer_shape = [](const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
    LParam(attrs);
    std::vector<TShape> a = {(*in)[0], (*in)[1]}, o = {(*out)[0]};
    SameShape(attrs, &a, &o);
    (*in)[0] = a[0];
    (*in)[1] = a[1];
    (*out)[0] = o[0];
    if (in->size() == 3 && !ShapeAssign(&(*out)[1], (*in)[2]))
      Throw(AX_ERR_SHAPE, attrs.Who(), ": gamma gradient shape ", (*out)[1].str(), " does not match ", (*in)[2].str());
  };
  op.infer_type = FloatSameType;
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    const auto& p = attrs.get<LeakyParam>();
    const int t = p.act_type;
    AX_FLOAT_TYPE_SWITCH(out[0].dtype, DType, attrs.Who(), {
      using F = fn::A<DType>;
      const DType* dy = in[0].ptr<DType>();
      const DType* x = in[1].ptr<DType>();
      if (t == kPrelu) {
        PreluView v(in[1].shape, in[2].shape);
        const DType* g = in[2].ptr<DType>();
        DType* dx = out[0].ptr<DType>();
        if (req[0] != OpReq::kNull) {
          const bool add = req[0] == OpReq::kAdd;
          ParallelFor(v.D0 * v.D1, std::max<int64_t>(1, kElemwiseGrain / std::max<int64_t>(v.inner, 1)),
                      [&](int64_t b, int64_t e) {
                        for (int64_t o = b; o < e; ++o) {
                          const F s = F(g[v.gi(o / v.D1, o % v.D1)]);
                          const int64_t off = o * v.inner;
                          for (int64_t j = 0; j < v.inner; ++j) {
                            F r = F(x[off + j]) > F(0) ? F(dy[off + j]) : s * F(dy[off + j]);
                            dx[off + j] = add ? DType(F(dx[off + j]) + r) : DType(r);
                          }
                        }
                      });
        }
        if (req[1] != OpReq::kNull) {  // dgamma = sum over broadcast axes of (x <= 0) * x * dy
          const int64_t ng = in[2].Size();
          std::vector<double> acc(static_cast<size_t>(ng), 0.0);
          for (int64_t o = 0; o < v.D0 * v.D1; ++o) {
            double s = 0;
            const int64_t off = o * v.inner;
            for (int64_t j = 0; j < v.inner; ++j) {
              F xv = F(x[off + j]);
              if (!(xv > F(0))) s += double(xv) * double(F(dy[off + j]));
            }
            acc[v.gi(o / v.D1, o % v.D1)] += s;
          }
          DType* dg = out[1].ptr<DType>();
          const bool add = req[1] == OpReq::kAdd;
          for (int64_t i = 0; i < ng; ++i) dg[i] = Cast<DType>(add ? double(F(dg[i])) + acc[i] : acc[i]);
        }
      } else {
        const F slope = F(p.slope);
        KindSwitch<6>(t, [&](auto kind) {
          MapIndex(out[0].Size(), req[0], out[0].ptr<DType>(),
                   [=](int64_t i) { return F(dy[i]) * LeakyDeriv<F>(kind(), F(x[i]), slope); });
        });
      }
    });
  };
}

}  // namespace axle
