// Pooling (MXNet 1.x): max, avg, sum and lp pooling over 1-D, 2-D and 3-D channel-first data,
// with stride, padding, global pooling and the valid/full/same output conventions; its gradient
// is _backward_Pooling (max routes the gradient to the first maximum of each window).
#include <limits>

#include "graph/grad_util.h"
#include "ops/nn_util.h"
#include "ops/pooling_op.h"

namespace axle {
namespace {

using nn::Window;

using namespace ::axle::pool;  // NOLINT: the pooling kinds (pooling_op.h)
const std::vector<std::string> kPoolLayouts = {"NCW", "NCHW", "NCDHW", "NWC", "NHWC", "NDHWC"};


void DescribePool(ParamBuilder<PoolParam>& b) {
  b.Field("kernel", &PoolParam::kernel, IntTuple{}).Describe("Pooling kernel size: (x,), (y, x) or (d, y, x)");
  b.Enum("pool_type", &PoolParam::pool_type, {"max", "avg", "sum", "lp"}, "max")
      .Describe("Pooling type to be applied.");
  b.Field("global_pool", &PoolParam::global_pool, false)
      .Describe("Ignore kernel size, do global pooling based on current input feature map.");
  b.Field("cudnn_off", &PoolParam::cudnn_off, false).Describe("Turn off cudnn pooling (ignored).");
  b.Enum("pooling_convention", &PoolParam::pooling_convention, {"full", "valid", "same"}, "valid")
      .Describe("Pooling convention: valid (floor), full (ceil) or same (ceil(x / stride), 1-D only).");
  b.Field("stride", &PoolParam::stride, IntTuple{})
      .Describe("Stride: for pooling (x,), (y, x) or (d, y, x). Defaults to 1 for each dimension.");
  b.Field("pad", &PoolParam::pad, IntTuple{}).Describe("Pad for pooling: (x,), (y, x) or (d, y, x). Defaults to 0.");
  b.Field("p_value", &PoolParam::p_value, OptInt()).Describe("Value of p for Lp pooling: 1, 2 or 3.");
  b.Enum("count_include_pad", &PoolParam::count_include_pad, {"False", "True"}, "None", true)
      .Describe("Only used for avg pooling: whether padding elements count in the average (None: True).");
  b.Enum("layout", &PoolParam::layout, kPoolLayouts, "None", true)
      .Describe("Layout of input and output: None, NCW, NCHW or NCDHW (channel-last layouts are not supported).");
}

std::string TupleStr(const IntTuple& t) {
  std::string s = "(";
  for (size_t i = 0; i < t.size(); ++i) s += (i ? "," : "") + std::to_string(t[i]);
  return s + (t.size() == 1 ? ",)" : ")");
}

// The pooling window for data of rank `ndim` (validated); output sizes in *out (spatial).
Window PoolWindow(const NodeAttrs& attrs, const TShape& d, int64_t out[3]) {
  const auto& p = attrs.get<PoolParam>();
  AX_CHECK(d.ndim() >= 3 && d.ndim() <= 5, AX_ERR_SHAPE, attrs.Who(), ": data shape ", d.str(),
           ": input data should be 3-D (batch, channel, x), 4-D (batch, channel, y, x) or 5-D (batch, channel, d, y, x)");
  if (p.layout >= 0) {
    const std::string& l = kPoolLayouts[p.layout];
    AX_CHECK(l[1] == 'C', AX_ERR_NOT_SUPPORTED, attrs.Who(), ": layout ", l,
             " is not supported (channel-first layouts only)");
    AX_CHECK(static_cast<int>(l.size()) == d.ndim(), AX_ERR_SHAPE, attrs.Who(), ": data shape ", d.str(),
             " does not fit layout ", l);
  }
  if (p.pool_type == kLp) {
    AX_CHECK(p.p_value.has_value(), AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": p_value is required for lp pooling");
    AX_CHECK(*p.p_value >= 1 && *p.p_value <= 3, AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": p_value must be 1, 2 or 3, got ",
             *p.p_value);
  }
  const int nd = d.ndim() - 2, o = 3 - nd;
  Window w;
  w.nd = nd;
  for (int i = 0; i < 3; ++i) out[i] = 1;
  if (p.global_pool) {
    for (int i = 0; i < nd; ++i) w.k[o + i] = std::max<int64_t>(d[2 + i], 1);
    return w;
  }
  AX_CHECK(!p.kernel.empty(), AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": kernel is required unless global_pool is set");
  AX_CHECK(static_cast<int>(p.kernel.size()) == nd, AX_ERR_SHAPE, attrs.Who(), ": data shape ", d.str(),
           " does not fit the ", p.kernel.size(), "-D kernel ", TupleStr(p.kernel), ": expected ",
           p.kernel.size() + 2, "-D input");
  AX_CHECK(p.stride.empty() || p.stride.size() == p.kernel.size(), AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": stride ",
           TupleStr(p.stride), " must have as many dimensions as kernel ", TupleStr(p.kernel));
  AX_CHECK(p.pad.empty() || p.pad.size() == p.kernel.size(), AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": pad ",
           TupleStr(p.pad), " must have as many dimensions as kernel ", TupleStr(p.kernel));
  if (p.pooling_convention == kSame) {
    AX_CHECK(nd == 1, AX_ERR_SHAPE, attrs.Who(), ": data shape ", d.str(),
             ": the 'same' pooling convention supports 1-D data (batch, channel, x) only");
    for (auto v : p.pad)
      AX_CHECK(v == 0, AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": the 'same' pooling convention disables pad, got ",
               TupleStr(p.pad));
  }
  for (int i = 0; i < nd; ++i) {
    w.k[o + i] = p.kernel[i];
    if (!p.stride.empty()) w.s[o + i] = p.stride[i];
    if (!p.pad.empty()) w.p[o + i] = p.pad[i];
    AX_CHECK(w.k[o + i] > 0, AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": kernel ", TupleStr(p.kernel), " must be positive");
    AX_CHECK(w.s[o + i] > 0, AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": stride ", TupleStr(p.stride), " must be positive");
    AX_CHECK(w.p[o + i] >= 0, AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": pad ", TupleStr(p.pad), " must be >= 0");
    const int64_t x = d[2 + i];
    if (x < 0) {
      out[o + i] = -1;
      continue;
    }
    const int64_t padded = x + 2 * w.p[o + i];
    AX_CHECK(w.k[o + i] <= padded, AX_ERR_SHAPE, attrs.Who(), ": data shape ", d.str(), ": kernel size (", w.k[o + i],
             ") exceeds input (", x, " padded to ", padded, ") along axis ", 2 + i);
    const int64_t s = w.s[o + i];
    if (p.pooling_convention == kValid) out[o + i] = 1 + (padded - w.k[o + i]) / s;
    else if (p.pooling_convention == kFull) out[o + i] = 1 + (padded - w.k[o + i] + s - 1) / s;
    else out[o + i] = (padded + s - 1) / s;
  }
  return w;
}

void PoolShape(const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
  const TShape& d = (*in)[0];
  if (!d.ndim_known()) return;
  int64_t o3[3];
  Window w = PoolWindow(attrs, d, o3);
  TShape os = d;
  for (int i = 0; i < w.nd; ++i) os[2 + i] = o3[3 - w.nd + i];
  if (!ShapeAssign(&(*out)[0], os))
    Throw(AX_ERR_SHAPE, attrs.Who(), ": output has shape ", (*out)[0].str(), ", expected ", os.str());
}

// Window bounds along one spatial axis for each output position: clipped [b, e) and the size
// counted with padding (MXNet clips the padded window at in + pad).
struct AxisWindows {
  std::vector<int64_t> b, e, size_pad;
};

struct Plan {
  Window w;
  int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1};
  int64_t planes = 0;
  int type = kMax, p = 1;
  bool include_pad = true;
  AxisWindows ax[3];
  int64_t InSize() const { return in[0] * in[1] * in[2]; }
  int64_t OutSize() const { return out[0] * out[1] * out[2]; }
};

Plan MakePlan(const NodeAttrs& attrs, const TShape& d) {
  const auto& pp = attrs.get<PoolParam>();
  Plan pl;
  int64_t o3[3];
  pl.w = PoolWindow(attrs, d, o3);
  const int o = 3 - pl.w.nd;
  for (int i = 0; i < pl.w.nd; ++i) {
    pl.in[o + i] = d[2 + i];
    pl.out[o + i] = o3[o + i];
  }
  pl.planes = d[0] * d[1];
  pl.type = pp.pool_type;
  pl.p = pp.p_value ? static_cast<int>(*pp.p_value) : 1;
  pl.include_pad = pp.count_include_pad != 0;
  for (int i = 0; i < 3; ++i) {
    AxisWindows& a = pl.ax[i];
    for (int64_t q = 0; q < pl.out[i]; ++q) {
      const int64_t s = q * pl.w.s[i] - pl.w.p[i];
      const int64_t ep = std::min(s + pl.w.k[i], pl.in[i] + pl.w.p[i]);
      a.size_pad.push_back(ep - s);
      a.b.push_back(std::max<int64_t>(s, 0));
      a.e.push_back(std::max(std::min(ep, pl.in[i]), std::max<int64_t>(s, 0)));
    }
  }
  return pl;
}

// For each output position of one plane: f(out index, window begin[3], end[3], divisor).
template <class F>
inline void ForWindows(const Plan& pl, F f) {
  const AxisWindows &az = pl.ax[0], &ay = pl.ax[1], &ax = pl.ax[2];
  int64_t oi = 0;
  for (int64_t z = 0; z < pl.out[0]; ++z)
    for (int64_t y = 0; y < pl.out[1]; ++y) {
      const int64_t pz_y = az.size_pad[z] * ay.size_pad[y], nz_y = (az.e[z] - az.b[z]) * (ay.e[y] - ay.b[y]);
      for (int64_t x = 0; x < pl.out[2]; ++x, ++oi) {
        const int64_t b[3] = {az.b[z], ay.b[y], ax.b[x]}, e[3] = {az.e[z], ay.e[y], ax.e[x]};
        f(oi, b, e, pl.include_pad ? pz_y * ax.size_pad[x] : nz_y * (ax.e[x] - ax.b[x]));
      }
    }
}

template <class T>
T PowP(T v, int p) { return p == 1 ? v : p == 2 ? v * v : v * v * v; }
template <class T>
T RootP(T v, int p) { return p == 1 ? v : p == 2 ? std::sqrt(v) : std::cbrt(v); }

// Max pooling 2x2, stride 2, no padding, every window inside the image (LeNet's and VGG's pooling):
// a loop without window bookkeeping. Same comparisons in the same order as the generic path, so
// the same results (NaN included).
bool IsMax2x2(const Plan& pl) {
  return pl.type == kMax && pl.out[0] == 1 && pl.in[0] == 1 && pl.w.k[1] == 2 && pl.w.k[2] == 2 &&
         pl.w.s[1] == 2 && pl.w.s[2] == 2 && pl.w.p[1] == 0 && pl.w.p[2] == 0 && 2 * pl.out[1] <= pl.in[1] &&
         2 * pl.out[2] <= pl.in[2];
}

template <class T>
inline T Max2x2(const T* r0, const T* r1) {
  T m = std::numeric_limits<T>::lowest();
  m = r0[0] > m ? r0[0] : m;
  m = r0[1] > m ? r0[1] : m;
  m = r1[0] > m ? r1[0] : m;
  m = r1[1] > m ? r1[1] : m;
  return m;
}

template <class T>
void PoolForward(const Plan& pl, const T* x, OpReq req, T* y) {
  if (req == OpReq::kNull) return;
  const int64_t In = pl.InSize(), Out = pl.OutSize();
  const int64_t H = pl.in[1], W = pl.in[2];
  const int64_t grain = std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(Out * pl.w.KSize(), 1));
  const bool max2 = IsMax2x2(pl);
  ParallelFor(pl.planes, grain, [&](int64_t pb, int64_t pe) {
    for (int64_t n = pb; n < pe; ++n) {
      const T* xp = x + n * In;
      T* yp = y + n * Out;
      if (max2) {
        for (int64_t oy = 0; oy < pl.out[1]; ++oy) {
          const T* r0 = xp + 2 * oy * W;
          T* yr = yp + oy * pl.out[2];
          for (int64_t ox = 0; ox < pl.out[2]; ++ox) {
            const T r = Max2x2(r0 + 2 * ox, r0 + W + 2 * ox);
            yr[ox] = req == OpReq::kAdd ? yr[ox] + r : r;
          }
        }
        continue;
      }
      ForWindows(pl, [&](int64_t oi, const int64_t* b, const int64_t* e, int64_t div) {
        T r;
        if (pl.type == kMax) {
          T m = std::numeric_limits<T>::lowest();
          for (int64_t z = b[0]; z < e[0]; ++z)
            for (int64_t yy = b[1]; yy < e[1]; ++yy) {
              const T* row = xp + (z * H + yy) * W;
              for (int64_t xx = b[2]; xx < e[2]; ++xx) m = row[xx] > m ? row[xx] : m;
            }
          r = m;
        } else {
          T s = 0;
          for (int64_t z = b[0]; z < e[0]; ++z)
            for (int64_t yy = b[1]; yy < e[1]; ++yy) {
              const T* row = xp + (z * H + yy) * W;
              if (pl.type == kLp) {
                for (int64_t xx = b[2]; xx < e[2]; ++xx) s += PowP(row[xx], pl.p);
              } else {
                for (int64_t xx = b[2]; xx < e[2]; ++xx) s += row[xx];
              }
            }
          if (pl.type == kAvg) r = div > 0 ? s / T(div) : T(0);
          else if (pl.type == kLp) r = RootP(s, pl.p);
          else r = s;
        }
        yp[oi] = req == OpReq::kAdd ? yp[oi] + r : r;
      });
    }
  });
}

// Adds g at the first element of the window equal to m, the window's output (MXNet's rule: the
// first maximum). Branch-free: the position of the maximum is random, a branch would mispredict.
template <class T>
inline void RouteMax(const T* __restrict xp, T* __restrict dp, int64_t H, int64_t W, const int64_t* b,
                     const int64_t* e, T m, T g) {
  bool found = false;
  const int64_t x0 = b[2], x1 = e[2];
  for (int64_t z = b[0]; z < e[0]; ++z)
    for (int64_t yy = b[1]; yy < e[1]; ++yy) {
      const T* xr = xp + (z * H + yy) * W;
      T* dr = dp + (z * H + yy) * W;
      for (int64_t xx = x0; xx < x1; ++xx) {
        const bool hit = !found & (xr[xx] == m);
        dr[xx] += g * static_cast<T>(hit);  // arithmetic, not a select: GCC makes a select a branch
        found |= hit;
      }
    }
}

// One row of 2x2 windows (rows r0, r1 of x; m, g: the window maxima and their gradients): g goes
// to the first element equal to the maximum (RouteMax's rule, and its arithmetic: 0 + g * hit, so
// -0 and a non-finite g give the same bits). Written over plain arrays so that GCC vectorises it.
template <bool kAdd, class T>
void Max2x2GradRow(const T* __restrict r0, const T* __restrict r1, const T* __restrict m, const T* __restrict g,
                   int64_t ow, T* __restrict d0, T* __restrict d1) {
  for (int64_t ox = 0; ox < ow; ++ox) {
    const T a = r0[2 * ox], b = r0[2 * ox + 1], c = r1[2 * ox], d = r1[2 * ox + 1], mm = m[ox], gg = g[ox];
    // hits as 0/1 in T (bools stop GCC's vectoriser): h_i = (element i is the maximum) * (no earlier hit)
    const T e0 = a == mm ? T(1) : T(0), e1 = b == mm ? T(1) : T(0), e2 = c == mm ? T(1) : T(0),
            e3 = d == mm ? T(1) : T(0);
    const T h0 = e0, h1 = e1 * (T(1) - h0), h2 = e2 * (T(1) - h0 - h1), h3 = e3 * (T(1) - h0 - h1 - h2);
    d0[2 * ox] = (kAdd ? d0[2 * ox] : T(0)) + gg * h0;
    d0[2 * ox + 1] = (kAdd ? d0[2 * ox + 1] : T(0)) + gg * h1;
    d1[2 * ox] = (kAdd ? d1[2 * ox] : T(0)) + gg * h2;
    d1[2 * ox + 1] = (kAdd ? d1[2 * ox + 1] : T(0)) + gg * h3;
  }
}

// dx from dy, x and y (y only for max and lp).
template <class T>
void PoolBackward(const Plan& pl, const T* dy, const T* x, const T* y, OpReq req, T* dx) {
  if (req == OpReq::kNull) return;
  const int64_t In = pl.InSize(), Out = pl.OutSize();
  const int64_t H = pl.in[1], W = pl.in[2];
  const int64_t grain = std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(Out * pl.w.KSize(), 1));
  const bool max2 = IsMax2x2(pl);
  ParallelFor(pl.planes, grain, [&](int64_t pb, int64_t pe) {
    for (int64_t n = pb; n < pe; ++n) {
      const T* xp = x + n * In;
      const T* yp = y + n * Out;
      const T* gp = dy + n * Out;
      T* dp = dx + n * In;
      if (max2) {  // RouteMax's rule (the first maximum of the window) on the four elements
        const bool add = req == OpReq::kAdd;
        const int64_t oh = pl.out[1], ow = pl.out[2];
        if (!add) std::fill(dp + 2 * oh * W, dp + In, T(0));  // rows below the last window
        for (int64_t oy = 0; oy < oh; ++oy) {
          const T* x0 = xp + 2 * oy * W;
          T* d0 = dp + 2 * oy * W;
          if (add) {
            Max2x2GradRow<true>(x0, x0 + W, yp + oy * ow, gp + oy * ow, ow, d0, d0 + W);
          } else {
            Max2x2GradRow<false>(x0, x0 + W, yp + oy * ow, gp + oy * ow, ow, d0, d0 + W);
            std::fill(d0 + 2 * ow, d0 + W, T(0));  // columns right of the last window
            std::fill(d0 + W + 2 * ow, d0 + 2 * W, T(0));
          }
        }
        continue;
      }
      if (req != OpReq::kAdd) std::fill(dp, dp + In, T(0));
      ForWindows(pl, [&](int64_t oi, const int64_t* b, const int64_t* e, int64_t div) {
        const T g = gp[oi];
        if (pl.type == kMax) {
          RouteMax(xp, dp, H, W, b, e, yp[oi], g);
          return;
        }
        T scale = g;
        if (pl.type == kAvg) scale = div > 0 ? g / T(div) : T(0);
        const T yo = yp[oi];
        for (int64_t z = b[0]; z < e[0]; ++z)
          for (int64_t yy = b[1]; yy < e[1]; ++yy) {
            const int64_t base = (z * H + yy) * W;
            if (pl.type == kLp && pl.p > 1) {
              for (int64_t xx = b[2]; xx < e[2]; ++xx) {
                const T v = xp[base + xx];
                dp[base + xx] += pl.p == 2 ? g * v / yo : g * v * v / (yo * yo);
              }
            } else {
              for (int64_t xx = b[2]; xx < e[2]; ++xx) dp[base + xx] += scale;
            }
          }
      });
    }
  });
}

}  // namespace

AX_REGISTER_OP("Pooling") {
  op.input_names = {"data"};
  op.doc = "Performs max, average, sum or Lp pooling on 1-D, 2-D or 3-D channel-first data (batch, channel, ...); "
           "output size floor((x + 2*pad - kernel) / stride) + 1 (valid), with ceil for 'full'; global_pool pools "
           "the whole spatial extent.";
  op.params = MakeSchema(DescribePool);
  op.infer_shape = PoolShape;
  op.infer_type = nn::SameFloatType;
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    const Plan pl = MakePlan(attrs, in[0].shape);
    nn::RunAsFloat(in, req, out, [&](const std::vector<TBlob>& i, const std::vector<TBlob>& o) {
      AX_REAL_SWITCH(o[0].dtype, T, { PoolForward<T>(pl, i[0].ptr<T>(), req[0], o[0].ptr<T>()); });
    });
  };
  op.gradient = [](const GradBuilder& g) -> std::vector<NodeEntry> {
    return {g.Make("_backward_Pooling", {g.ograd(0), g.input(0), g.output(0)}, g.attr_dict())};
  };
}

AX_REGISTER_OP("_backward_Pooling") {
  op.input_names = {"ograd", "data", "output"};
  op.doc = "The gradient of Pooling with respect to its data.";
  op.params = MakeSchema(DescribePool);
  op.infer_shape = [](const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
    std::vector<TShape> fin = {(*in)[1]}, fout(1);
    PoolShape(attrs, &fin, &fout);
    for (int i : {0, 2})
      if (!ShapeAssign(&(*in)[i], fout[0]))
        Throw(AX_ERR_SHAPE, attrs.Who(), ": input '", InputName(attrs, i), "' has shape ", (*in)[i].str(),
              ", expected ", fout[0].str());
    if (!ShapeAssign(&(*out)[0], (*in)[1]))
      Throw(AX_ERR_SHAPE, attrs.Who(), ": output has shape ", (*out)[0].str(), ", expected ", (*in)[1].str());
  };
  op.infer_type = nn::SameFloatType;
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    const Plan pl = MakePlan(attrs, in[1].shape);
    nn::RunAsFloat(in, req, out, [&](const std::vector<TBlob>& i, const std::vector<TBlob>& o) {
      AX_REAL_SWITCH(o[0].dtype, T, {
        PoolBackward<T>(pl, i[0].ptr<T>(), i[1].ptr<T>(), i[2].ptr<T>(), req[0], o[0].ptr<T>());
      });
    });
  };
}

}  // namespace axle

namespace {
const bool ax_pool_aliases = [] {
  axle::OpRegistry::Get()->Alias("_npx_pooling", "Pooling");
  return true;
}();
}  // namespace
