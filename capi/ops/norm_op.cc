// BatchNorm and LayerNorm (MXNet 1.x) with their backward ops.
//
// BatchNorm follows MXNet 1.9.1's CPU operator exactly (checked against its numbers):
// - the hidden outputs are the batch mean and the *inverse* standard deviation 1/sqrt(var+eps)
//   (of the moving variance outside training), although the output is named "var";
// - in training the moving statistics are updated by the backward pass (_backward_BatchNorm
//   mutates them), with the biased batch variance: moving = moving*momentum + batch*(1-momentum);
//   a forward pass alone leaves them unchanged;
// - fix_gamma uses gamma = 1 and gives gamma a zero gradient (MXNet also overwrites the gamma
//   array with ones; Axle leaves the input untouched);
// - float16 data takes float32 gamma/beta/moving stats; otherwise all share the data's dtype.
#include <mutex>

#include "graph/grad_util.h"
#include "ops/nn_util.h"
#include "ops/norm_op.h"

namespace axle {
namespace {

// (outer, C, inner) view of data around a channel axis.
struct AxisView {
  int64_t outer = 1, C = 1, inner = 1;
};

int NormAxis(const NodeAttrs& attrs, int axis, const TShape& d) {
  const int nd = d.ndim();
  const int a = axis < 0 ? axis + nd : axis;
  AX_CHECK(a >= 0 && a < nd, AX_ERR_INDEX, attrs.Who(), ": axis ", axis, " is out of range for data shape ", d.str());
  return a;
}

AxisView View(const TShape& d, int a) {
  AxisView v;
  v.outer = d.ProdRange(0, a);
  v.C = d[a];
  v.inner = d.ProdRange(a + 1, d.ndim());
  return v;
}

void AssignIn(const NodeAttrs& attrs, std::vector<TShape>* in, size_t i, const TShape& s) {
  if (!ShapeAssign(&(*in)[i], s))
    Throw(AX_ERR_SHAPE, attrs.Who(), ": input '", InputName(attrs, i), "' has shape ", (*in)[i].str(), ", expected ",
          s.str());
}
void AssignOut(const NodeAttrs& attrs, std::vector<TShape>* out, size_t i, const TShape& s) {
  if (!ShapeAssign(&(*out)[i], s))
    Throw(AX_ERR_SHAPE, attrs.Who(), ": output ", i, " has shape ", (*out)[i].str(), ", expected ", s.str());
}

// ---- BatchNorm ----------------------------------------------------------------------------


void DescribeBN(ParamBuilder<BNParam>& b) {
  // MXNet's default is the float 1e-3f held in a double (0.0010000000474974513)
  b.Field("eps", &BNParam::eps, static_cast<double>(1e-3f)).Describe("Epsilon to prevent div 0.");
  b.Field("momentum", &BNParam::momentum, 0.9f).Describe("Momentum for moving average");
  b.Field("fix_gamma", &BNParam::fix_gamma, true).Describe("Fix gamma while training");
  b.Field("use_global_stats", &BNParam::use_global_stats, false)
      .Describe("Whether use global moving statistics instead of local batch-norm. This will force change batch-norm "
                "into a scale shift operator.");
  b.Field("output_mean_var", &BNParam::output_mean_var, false).Describe("Output the mean and inverse std ");
  b.Field("axis", &BNParam::axis, 1).Describe("Specify which shape axis the channel is specified");
  b.Field("cudnn_off", &BNParam::cudnn_off, false).Describe("Do not select CUDNN operator, if available (ignored)");
}

// Shapes of (data, gamma, beta, moving_mean, moving_var) -> (out, mean, var).
void BNShape(const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
  const TShape& d = (*in)[0];
  if (!d.ndim_known()) return;
  const int a = NormAxis(attrs, attrs.get<BNParam>().axis, d);
  const TShape c({d[a]});
  for (size_t i = 1; i < 5; ++i) AssignIn(attrs, in, i, c);
  AssignOut(attrs, out, 0, d);
  AssignOut(attrs, out, 1, c);
  AssignOut(attrs, out, 2, c);
}

int BNParamType(const NodeAttrs& attrs, int dt) {
  AX_CHECK(nn::IsFloatType(dt), AX_ERR_TYPE, attrs.Who(), ": dtype ", DTypeName(dt),
           " is not supported (float32, float64 or float16)");
  return dt == AX_FLOAT16 ? AX_FLOAT32 : dt;
}

void BNType(const NodeAttrs& attrs, std::vector<int>* in, std::vector<int>* out) {
  int dt = (*in)[0];
  if (dt < 0) dt = (*out)[0];
  if (dt < 0) return;
  (*in)[0] = dt;
  const int pt = BNParamType(attrs, dt);
  for (size_t i = 1; i < in->size(); ++i) {
    if ((*in)[i] < 0) (*in)[i] = pt;
    AX_CHECK((*in)[i] == pt, AX_ERR_TYPE, attrs.Who(), ": dtype of input '", InputName(attrs, i), "' is ",
             DTypeName((*in)[i]), ", expected ", DTypeName(pt), " for ", DTypeName(dt), " data");
  }
  (*out)[0] = dt;
  (*out)[1] = pt;
  (*out)[2] = pt;
}

template <class T, class F>
void ForChannel(const AxisView& v, int64_t c, F f) {
  for (int64_t o = 0; o < v.outer; ++o) {
    const int64_t base = (o * v.C + c) * v.inner;
    for (int64_t i = 0; i < v.inner; ++i) f(base + i);
  }
}

template <class T>
void BNForward(const BNParam& p, bool train, const AxisView& v, const T* x, const T* gamma, const T* beta,
               const T* mm, const T* mv, OpReq req, T* y, T* mean, T* invstd) {
  const bool batch = train && !p.use_global_stats;
  const int64_t cnt = v.outer * v.inner;
  ParallelFor(v.C, std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(cnt, 1)), [&](int64_t cb, int64_t ce) {
    for (int64_t c = cb; c < ce; ++c) {
      T m, is;
      if (batch) {
        double s = 0;
        ForChannel<T>(v, c, [&](int64_t i) { s += x[i]; });
        const double md = cnt ? s / cnt : 0.0;
        double q = 0;
        ForChannel<T>(v, c, [&](int64_t i) { q += (x[i] - md) * (x[i] - md); });
        m = static_cast<T>(md);
        is = (q == 0 && p.eps == 0) ? T(0) : static_cast<T>(1.0 / std::sqrt((cnt ? q / cnt : 0.0) + p.eps));
      } else {
        m = mm[c];
        is = static_cast<T>(1.0 / std::sqrt(static_cast<double>(mv[c]) + p.eps));
      }
      mean[c] = m;
      invstd[c] = is;
      if (req == OpReq::kNull) continue;
      const T scale = (p.fix_gamma ? T(1) : gamma[c]) * is;
      const T shift = beta[c] - m * scale;
      if (req == OpReq::kAdd) ForChannel<T>(v, c, [&](int64_t i) { y[i] += x[i] * scale + shift; });
      else ForChannel<T>(v, c, [&](int64_t i) { y[i] = x[i] * scale + shift; });
    }
  });
}

// MXNet's backward: also updates the moving statistics in training.
template <class T>
void BNBackward(const BNParam& p, bool train, const AxisView& v, const T* dy, const T* smean, const T* sinvstd,
                const T* x, const T* gamma, T* mm, T* mv, OpReq rx, T* dx, OpReq rg, T* dg, OpReq rb, T* db) {
  const bool batch = train && !p.use_global_stats;
  const int64_t cnt = v.outer * v.inner;
  ParallelFor(v.C, std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(cnt, 1)), [&](int64_t cb, int64_t ce) {
    for (int64_t c = cb; c < ce; ++c) {
      const T w = p.fix_gamma ? T(1) : gamma[c];
      T mean, invstd;
      if (batch) {
        mean = smean[c];
        invstd = sinvstd[c];
        if (cnt > 0) {
          const T var = T(1) / (invstd * invstd) - static_cast<T>(p.eps);
          const T mom = static_cast<T>(p.momentum);
          mm[c] = mm[c] * mom + mean * (T(1) - mom);
          mv[c] = mv[c] * mom + var * (T(1) - mom);
        }
      } else {
        mean = mm[c];
        invstd = static_cast<T>(1.0 / std::sqrt(static_cast<double>(mv[c]) + p.eps));
      }
      double sdy = 0, dot = 0;
      ForChannel<T>(v, c, [&](int64_t i) {
        sdy += dy[i];
        dot += (x[i] - mean) * dy[i];
      });
      if (rx != OpReq::kNull) {
        const bool add = rx == OpReq::kAdd;
        const T iw = invstd * w;
        if (batch) {
          const T k = cnt ? static_cast<T>(dot * invstd * invstd / cnt) : T(0);
          const T gm = cnt ? static_cast<T>(sdy / cnt) : T(0);
          ForChannel<T>(v, c, [&](int64_t i) {
            const T r = (dy[i] - gm - (x[i] - mean) * k) * iw;
            dx[i] = add ? dx[i] + r : r;
          });
        } else {
          ForChannel<T>(v, c, [&](int64_t i) { dx[i] = add ? dx[i] + dy[i] * iw : dy[i] * iw; });
        }
      }
      const T gg = p.fix_gamma ? T(0) : static_cast<T>(dot * invstd);
      if (rg == OpReq::kAdd) dg[c] += gg;
      else if (rg != OpReq::kNull) dg[c] = gg;
      if (rb == OpReq::kAdd) db[c] += static_cast<T>(sdy);
      else if (rb != OpReq::kNull) db[c] = static_cast<T>(sdy);
    }
  });
}

// ---- LayerNorm ----------------------------------------------------------------------------


void DescribeLN(ParamBuilder<LNParam>& b) {
  b.Field("axis", &LNParam::axis, -1)
      .Describe("The axis to perform layer normalization. Usually, this should be be axis of the channel dimension. "
                "Negative values means indexing from right to left.");
  b.Field("eps", &LNParam::eps, 1e-5f).Describe("An `epsilon` parameter to prevent division by 0.");
  b.Field("output_mean_var", &LNParam::output_mean_var, false)
      .Describe("Output the mean and std calculated along the given axis.");
}

void LNShape(const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
  const TShape& d = (*in)[0];
  if (!d.ndim_known()) return;
  const int a = NormAxis(attrs, attrs.get<LNParam>().axis, d);
  const TShape c({d[a]});
  AssignIn(attrs, in, 1, c);
  AssignIn(attrs, in, 2, c);
  TShape m = d;
  m[a] = 1;
  AssignOut(attrs, out, 0, d);
  AssignOut(attrs, out, 1, m);
  AssignOut(attrs, out, 2, m);
}

// Rows are the (outer, inner) positions; each normalises C elements at stride `inner`.
template <class T>
void LNForward(const AxisView& v, double eps, const T* x, const T* gamma, const T* beta, OpReq req, T* y, T* mean,
               T* sd) {
  const int64_t rows = v.outer * v.inner, C = v.C, st = v.inner;
  ParallelFor(rows, std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(C, 1)), [&](int64_t rb, int64_t re) {
    for (int64_t r = rb; r < re; ++r) {
      const int64_t base = (r / v.inner) * C * v.inner + r % v.inner;
      const T* xr = x + base;
      double s = 0;
      for (int64_t c = 0; c < C; ++c) s += xr[c * st];
      const double m = C ? s / C : 0.0;
      double q = 0;
      for (int64_t c = 0; c < C; ++c) q += (xr[c * st] - m) * (xr[c * st] - m);
      const double sdv = std::sqrt((C ? q / C : 0.0) + eps);
      mean[r] = static_cast<T>(m);
      sd[r] = static_cast<T>(sdv);
      if (req == OpReq::kNull) continue;
      const T mt = static_cast<T>(m), inv = static_cast<T>(1.0 / sdv);
      T* yr = y + base;
      for (int64_t c = 0; c < C; ++c) {
        const T val = (xr[c * st] - mt) * inv * gamma[c] + beta[c];
        yr[c * st] = req == OpReq::kAdd ? yr[c * st] + val : val;
      }
    }
  });
}

template <class T>
void LNBackward(const AxisView& v, const T* dy, const T* x, const T* gamma, const T* mean, const T* sd, OpReq rx, T* dx,
                OpReq rg, T* dg, OpReq rb, T* db) {
  const int64_t rows = v.outer * v.inner, C = v.C, st = v.inner;
  std::mutex mu;
  std::vector<double> gsum(static_cast<size_t>(C), 0.0), bsum(static_cast<size_t>(C), 0.0);
  ParallelFor(rows, std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(C, 1)), [&](int64_t rb, int64_t re) {
    std::vector<double> gp(static_cast<size_t>(C), 0.0), bp(static_cast<size_t>(C), 0.0);
    for (int64_t r = rb; r < re; ++r) {
      const int64_t base = (r / v.inner) * C * v.inner + r % v.inner;
      const T* xr = x + base;
      const T* gr = dy + base;
      const double m = mean[r], inv = 1.0 / static_cast<double>(sd[r]);
      double sg = 0, sgx = 0;
      for (int64_t c = 0; c < C; ++c) {
        const double xh = (xr[c * st] - m) * inv, g = static_cast<double>(gr[c * st]);
        gp[c] += g * xh;
        bp[c] += g;
        const double gg = g * static_cast<double>(gamma[c]);
        sg += gg;
        sgx += gg * xh;
      }
      if (rx == OpReq::kNull || C == 0) continue;
      const double mg = sg / C, mgx = sgx / C;
      T* dr = dx + base;
      for (int64_t c = 0; c < C; ++c) {
        const double xh = (xr[c * st] - m) * inv;
        const T val = static_cast<T>((static_cast<double>(gr[c * st]) * gamma[c] - mg - xh * mgx) * inv);
        dr[c * st] = rx == OpReq::kAdd ? dr[c * st] + val : val;
      }
    }
    std::lock_guard<std::mutex> lk(mu);
    for (int64_t c = 0; c < C; ++c) {
      gsum[c] += gp[c];
      bsum[c] += bp[c];
    }
  });
  for (int64_t c = 0; c < C; ++c) {
    if (rg == OpReq::kAdd) dg[c] += static_cast<T>(gsum[c]);
    else if (rg != OpReq::kNull) dg[c] = static_cast<T>(gsum[c]);
    if (rb == OpReq::kAdd) db[c] += static_cast<T>(bsum[c]);
    else if (rb != OpReq::kNull) db[c] = static_cast<T>(bsum[c]);
  }
}

}  // namespace

AX_REGISTER_OP("BatchNorm") {
  op.input_names = {"data", "gamma", "beta", "moving_mean", "moving_var"};
  op.doc = "Batch normalization: normalizes data by the mean and variance over all axes but `axis` (the batch's "
           "in training, the moving statistics otherwise), then scales by gamma (1 with fix_gamma) and shifts by "
           "beta. Hidden outputs: the mean and the inverse standard deviation (shown with output_mean_var). The "
           "moving statistics (aux states) are updated when the gradient is computed in training.";
  op.params = MakeSchema(DescribeBN);
  op.num_outputs = [](const NodeAttrs&) { return 3; };
  op.num_visible_outputs = [](const NodeAttrs& attrs) { return attrs.get<BNParam>().output_mean_var ? 3 : 1; };
  op.output_names = {"output", "mean", "var"};
  op.mutate_inputs = {3, 4};
  op.input_var_attrs = [](int input, std::vector<std::pair<std::string, std::string>>* attrs) {
    if (input == 3) attrs->emplace_back("__init__", "[\"zero\", {}]");
    if (input == 4) attrs->emplace_back("__init__", "[\"one\", {}]");
  };
  op.infer_shape = BNShape;
  op.infer_type = BNType;
  op.compute_cpu = [](const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    const auto& p = attrs.get<BNParam>();
    const AxisView v = View(in[0].shape, NormAxis(attrs, p.axis, in[0].shape));
    nn::RunAsFloat(in, req, out, [&](const std::vector<TBlob>& i, const std::vector<TBlob>& o) {
      AX_REAL_SWITCH(o[1].dtype, T, {
        BNForward<T>(p, ctx.is_train, v, i[0].ptr<T>(), i[1].ptr<T>(), i[2].ptr<T>(), i[3].ptr<T>(), i[4].ptr<T>(),
                     req[0], o[0].ptr<T>(), o[1].ptr<T>(), o[2].ptr<T>());
      });
    });
  };
  op.gradient = [](const GradBuilder& g) -> std::vector<NodeEntry> {
    NodePtr n = g.MakeMulti("_backward_BatchNorm",
                            {g.ograd(0), g.output(1), g.output(2), g.input(0), g.input(1), g.input(2), g.input(3),
                             g.input(4)},
                            g.attr_dict());
    return {Out(n, 0), Out(n, 1), Out(n, 2), g.ZerosLike(3), g.ZerosLike(4)};
  };
}

AX_REGISTER_OP("_backward_BatchNorm") {
  op.input_names = {"ograd", "mean", "var", "data", "gamma", "beta", "moving_mean", "moving_var"};
  op.doc = "The gradient of BatchNorm (data, gamma, beta); in training it also updates moving_mean and moving_var.";
  op.params = MakeSchema(DescribeBN);
  op.num_outputs = [](const NodeAttrs&) { return 3; };
  op.output_names = {"data_grad", "gamma_grad", "beta_grad"};
  op.mutate_inputs = {6, 7};
  op.infer_shape = [](const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
    std::vector<TShape> fin(in->begin() + 3, in->end()), fout(3);
    BNShape(attrs, &fin, &fout);
    for (int i : {0, 1, 2}) AssignIn(attrs, in, i, fout[i]);
    AssignOut(attrs, out, 0, (*in)[3]);
    AssignOut(attrs, out, 1, (*in)[4]);
    AssignOut(attrs, out, 2, (*in)[5]);
  };
  op.infer_type = [](const NodeAttrs&, std::vector<int>* in, std::vector<int>* out) {
    (*out)[0] = (*in)[3];
    (*out)[1] = (*in)[4];
    (*out)[2] = (*in)[5];
  };
  op.compute_cpu = [](const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    const auto& p = attrs.get<BNParam>();
    const AxisView v = View(in[3].shape, NormAxis(attrs, p.axis, in[3].shape));
    nn::RunAsFloat(in, req, out, [&](const std::vector<TBlob>& i, const std::vector<TBlob>& o) {
      AX_REAL_SWITCH(o[1].dtype, T, {
        BNBackward<T>(p, ctx.is_train, v, i[0].ptr<T>(), i[1].ptr<T>(), i[2].ptr<T>(), i[3].ptr<T>(), i[4].ptr<T>(),
                      i[6].ptr<T>(), i[7].ptr<T>(), req[0], o[0].ptr<T>(), req[1], o[1].ptr<T>(), req[2],
                      o[2].ptr<T>());
      });
    });
  };
}

AX_REGISTER_OP("LayerNorm") {
  op.input_names = {"data", "gamma", "beta"};
  op.doc = "Layer normalization: normalizes data over `axis` to zero mean and unit variance (eps added to the "
           "variance), then scales by gamma and shifts by beta (both of the axis' length). Hidden outputs: the mean "
           "and the standard deviation sqrt(var + eps) (shown with output_mean_var).";
  op.params = MakeSchema(DescribeLN);
  op.num_outputs = [](const NodeAttrs&) { return 3; };
  op.num_visible_outputs = [](const NodeAttrs& attrs) { return attrs.get<LNParam>().output_mean_var ? 3 : 1; };
  op.output_names = {"output", "mean", "std"};
  op.infer_shape = LNShape;
  op.infer_type = nn::SameFloatType;
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    const auto& p = attrs.get<LNParam>();
    const AxisView v = View(in[0].shape, NormAxis(attrs, p.axis, in[0].shape));
    nn::RunAsFloat(in, req, out, [&](const std::vector<TBlob>& i, const std::vector<TBlob>& o) {
      AX_REAL_SWITCH(o[0].dtype, T, {
        LNForward<T>(v, p.eps, i[0].ptr<T>(), i[1].ptr<T>(), i[2].ptr<T>(), req[0], o[0].ptr<T>(), o[1].ptr<T>(),
                     o[2].ptr<T>());
      });
    });
  };
  op.gradient = [](const GradBuilder& g) -> std::vector<NodeEntry> {
    NodePtr n = g.MakeMulti("_backward_LayerNorm", {g.ograd(0), g.input(0), g.input(1), g.output(1), g.output(2)},
                            g.attr_dict());
    return {Out(n, 0), Out(n, 1), Out(n, 2)};
  };
}

AX_REGISTER_OP("_backward_LayerNorm") {
  op.input_names = {"ograd", "data", "gamma", "mean", "std"};
  op.doc = "The gradient of LayerNorm (data, gamma, beta).";
  op.params = MakeSchema(DescribeLN);
  op.num_outputs = [](const NodeAttrs&) { return 3; };
  op.output_names = {"data_grad", "gamma_grad", "beta_grad"};
  op.infer_shape = [](const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
    std::vector<TShape> fin = {(*in)[1], (*in)[2], TShape()}, fout(3);
    LNShape(attrs, &fin, &fout);
    AssignIn(attrs, in, 0, fout[0]);
    AssignIn(attrs, in, 3, fout[1]);
    AssignIn(attrs, in, 4, fout[2]);
    AssignOut(attrs, out, 0, (*in)[1]);
    AssignOut(attrs, out, 1, (*in)[2]);
    AssignOut(attrs, out, 2, (*in)[2]);
  };
  op.infer_type = nn::SameFloatType;
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    const auto& p = attrs.get<LNParam>();
    const AxisView v = View(in[1].shape, NormAxis(attrs, p.axis, in[1].shape));
    nn::RunAsFloat(in, req, out, [&](const std::vector<TBlob>& i, const std::vector<TBlob>& o) {
      AX_REAL_SWITCH(o[0].dtype, T, {
        LNBackward<T>(v, i[0].ptr<T>(), i[1].ptr<T>(), i[2].ptr<T>(), i[3].ptr<T>(), i[4].ptr<T>(), req[0],
                      o[0].ptr<T>(), req[1], o[1].ptr<T>(), req[2], o[2].ptr<T>());
      });
    });
  };
}

}  // namespace axle

namespace {
const bool ax_norm_aliases = [] {
  auto* r = axle::OpRegistry::Get();
  r->Alias("_npx_batch_norm", "BatchNorm");
  r->Alias("_npx_layer_norm", "LayerNorm");
  return true;
}();
}  // namespace
