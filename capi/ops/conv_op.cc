// Convolution and Deconvolution (MXNet 1.x): 1-D, 2-D and 3-D, channel-first layouts (NCW,
// NCHW, NCDHW), groups, stride, dilation and padding; im2col + GEMM (OpenBLAS) parallelised
// over the batch. Their gradients are the _backward_Convolution / _backward_Deconvolution ops.
//
// Shapes: Convolution data (N, C, x...), weight (F, C/g, k...), bias (F,), output (N, F, y...)
// with y = (x + 2p - d(k-1) - 1) / s + 1. Deconvolution (the adjoint of the convolution's data
// gradient): data (N, C, x...), weight (C, F/g, k...), bias (F,), output (N, F, y...) with
// y = s(x-1) + d(k-1) + 1 - 2p + adj (pad and adj derived from target_shape when it is set).
// Deconvolution is exactly the convolution's data gradient in every case, as cuDNN computes it;
// MXNet 1.9.1's CPU kernel disagrees with its own Convolution gradient when both stride and
// dilate exceed 1 (a bug), so Axle differs from MXNet's CPU numbers there only.
#include <cstring>
#include <memory>
#include <mutex>

#include "graph/grad_util.h"
#include "ops/conv_op.h"
#include "ops/nn_util.h"

namespace axle {
namespace {

using nn::ColGeom;
using nn::Window;

const std::vector<std::string> kLayouts = {"NCW", "NCHW", "NCDHW", "NHWC", "NDHWC"};


template <bool kDeconv>
void DescribeConv(ParamBuilder<ConvParam>& b) {
  const char* what = kDeconv ? "Deconvolution" : "Convolution";
  b.Field("kernel", &ConvParam::kernel).Describe(StrCat(what, " kernel size: (w,), (h, w) or (d, h, w)"));
  b.Field("stride", &ConvParam::stride, IntTuple{})
      .Describe("Stride: (w,), (h, w) or (d, h, w). Defaults to 1 for each dimension.");
  b.Field("dilate", &ConvParam::dilate, IntTuple{})
      .Describe("Dilation: (w,), (h, w) or (d, h, w). Defaults to 1 for each dimension.");
  b.Field("pad", &ConvParam::pad, IntTuple{})
      .Describe("Zero padding: (w,), (h, w) or (d, h, w). Defaults to no padding.");
  if (kDeconv) {
    b.Field("adj", &ConvParam::adj, IntTuple{})
        .Describe("Adjustment for output shape: (w,), (h, w) or (d, h, w). Ignored when target_shape is set.");
    b.Field("target_shape", &ConvParam::target_shape, IntTuple{})
        .Describe("Shape of the output tensor: (w,), (h, w) or (d, h, w); sets pad and adj.");
  }
  b.Field("num_filter", &ConvParam::num_filter).Describe(kDeconv ? "Number of output filters." :
                                                         "Convolution filter(channel) number");
  b.Field("num_group", &ConvParam::num_group, 1).Describe("Number of group partitions.");
  b.Field("workspace", &ConvParam::workspace, kDeconv ? 512 : 1024)
      .Describe("Maximum temporary workspace allowed (MB): bounds how many images are lowered (im2col) per GEMM.");
  b.Field("no_bias", &ConvParam::no_bias, kDeconv).Describe("Whether to disable bias parameter.");
  b.Enum("cudnn_tune", &ConvParam::cudnn_tune, {"off", "limited_workspace", "fastest"}, "None", true)
      .Describe("Whether to pick the algorithm by running performance test (ignored).");
  b.Field("cudnn_off", &ConvParam::cudnn_off, false).Describe("Turn off cudnn for this layer (ignored).");
  b.Enum("layout", &ConvParam::layout, kLayouts, "None", true)
      .Describe("Layout of input, output and weight: None (NCW, NCHW or NCDHW by the kernel), NCW, NCHW or "
                "NCDHW (NHWC and NDHWC are GPU-only in MXNet and not supported).");
}

std::string TupleStr(const IntTuple& t) {
  std::string s = "(";
  for (size_t i = 0; i < t.size(); ++i) s += (i ? "," : "") + std::to_string(t[i]);
  return s + (t.size() == 1 ? ",)" : ")");
}

// The window of the op's attributes, validated (attribute errors name the attribute).
template <bool kDeconv>
Window GetWindow(const NodeAttrs& attrs) {
  const auto& p = attrs.get<ConvParam>();
  const int nd = static_cast<int>(p.kernel.size());
  AX_CHECK(nd >= 1 && nd <= 3, AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": kernel ", TupleStr(p.kernel),
           " must have 1, 2 or 3 dimensions");
  auto check_len = [&](const IntTuple& t, const char* name, const char* title) {
    AX_CHECK(t.empty() || static_cast<int>(t.size()) == nd, AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": ", title,
             " must have the same number of dimensions with kernel_size, but kernel_size is set to ",
             TupleStr(p.kernel), " while ", name, " is ", TupleStr(t));
  };
  check_len(p.stride, "stride", "Stride");
  check_len(p.dilate, "dilate", "Dilate");
  check_len(p.pad, "padding", "Padding");
  if (kDeconv) {
    check_len(p.adj, "adjustment", "Adjustment");
    check_len(p.target_shape, "target_shape", "target_shape");
  }
  Window w;
  w.nd = nd;
  const int o = 3 - nd;
  for (int i = 0; i < nd; ++i) {
    w.k[o + i] = p.kernel[i];
    if (!p.stride.empty()) w.s[o + i] = p.stride[i];
    if (!p.dilate.empty()) w.d[o + i] = p.dilate[i];
    if (!p.pad.empty()) w.p[o + i] = p.pad[i];
    AX_CHECK(w.k[o + i] > 0, AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": incorrect kernel size: ", TupleStr(p.kernel));
    AX_CHECK(w.s[o + i] > 0, AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": incorrect stride size: ", TupleStr(p.stride));
    AX_CHECK(w.d[o + i] > 0, AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": incorrect dilate size: ", TupleStr(p.dilate));
    AX_CHECK(w.p[o + i] >= 0, AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": incorrect pad size: ", TupleStr(p.pad));
  }
  AX_CHECK(p.num_filter >= 1, AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": num_filter must be >= 1, got ", p.num_filter);
  AX_CHECK(p.num_group >= 1, AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": num_group must be >= 1, got ", p.num_group);
  AX_CHECK(p.num_filter % p.num_group == 0, AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": num_filter ", p.num_filter,
           " must be divisible by num_group ", p.num_group);
  if (p.layout >= 0) {
    const std::string& l = kLayouts[p.layout];
    AX_CHECK(l != "NHWC" && l != "NDHWC", AX_ERR_NOT_SUPPORTED, attrs.Who(), ": layout ", l,
             " is not supported (channel-first layouts only)");
    static const char* kFirst[] = {"NCW", "NCHW", "NCDHW"};
    AX_CHECK(l == kFirst[nd - 1], AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": layout ", l, " does not fit a ", nd,
             "-D kernel ", TupleStr(p.kernel), " (expected ", kFirst[nd - 1], ")");
  }
  return w;
}

const char* DimNames(int nd) {
  return nd == 1 ? "(batch, channel, x)" : nd == 2 ? "(batch, channel, y, x)" : "(batch, channel, d, y, x)";
}

void CheckDataNDim(const NodeAttrs& attrs, const TShape& d, const Window& w) {
  const auto& p = attrs.get<ConvParam>();
  AX_CHECK(d.ndim() == w.nd + 2, AX_ERR_SHAPE, attrs.Who(), ": data shape ", d.str(), " does not fit the ", w.nd,
           "-D kernel ", TupleStr(p.kernel), ": expected ", w.nd + 2, "-D input ", DimNames(w.nd));
}

void Assign(const NodeAttrs& attrs, std::vector<TShape>* v, size_t i, const TShape& s, bool is_out) {
  if (!ShapeAssign(&(*v)[i], s))
    Throw(AX_ERR_SHAPE, attrs.Who(), ": ", is_out ? std::string("output") : "input '" + InputName(attrs, i) + "'",
          " has shape ", (*v)[i].str(), ", expected ", s.str());
}

// Deconvolution: pad and adj from target_shape (MXNet's InferPad), per spatial dim i of nd.
void DeconvPadAdj(const ConvParam& p, const Window& w, int i, int64_t in, int64_t* pad, int64_t* adj) {
  const int o = 3 - w.nd;
  *pad = w.p[o + i];
  *adj = p.adj.empty() ? 0 : p.adj[i];
  bool use_target = false;
  for (auto t : p.target_shape) use_target |= t != 0;
  if (use_target && p.target_shape[i] > 0 && in >= 0) {
    int64_t total = w.s[o + i] * (in - 1) + w.DilatedK(o + i) - p.target_shape[i];
    *adj = total >= 0 ? total % 2 : 0;
    *pad = total >= 0 ? (total + 1) / 2 : 0;
  }
}

// ---- shape inference ----------------------------------------------------------------------

void ConvShape(const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
  const auto& p = attrs.get<ConvParam>();
  const Window w = GetWindow<false>(attrs);
  const int nd = w.nd, o = 3 - nd;
  TShape d = (*in)[0];
  if (!d.ndim_known()) {
    // only the output can tell the data's rank
    if (!(*out)[0].ndim_known()) return;
    d = TShape(nd + 2);
  }
  CheckDataNDim(attrs, d, w);
  const int64_t F = p.num_filter, G = p.num_group;
  if (d[1] < 0 && (*in)[1].ndim_known() && (*in)[1].ndim() == nd + 2 && (*in)[1][1] >= 0) d[1] = (*in)[1][1] * G;
  if (d[1] >= 0)
    AX_CHECK(d[1] % G == 0, AX_ERR_SHAPE, attrs.Who(), ": data shape ", d.str(), " has ", d[1],
             " channels, which num_group ", G, " does not divide");
  TShape ws(nd + 2);
  ws[0] = F;
  ws[1] = d[1] >= 0 ? d[1] / G : -1;
  for (int i = 0; i < nd; ++i) ws[2 + i] = w.k[o + i];
  Assign(attrs, in, 1, ws, false);
  if (!p.no_bias) Assign(attrs, in, 2, TShape({F}), false);
  TShape os(nd + 2);
  os[0] = d[0];
  os[1] = F;
  for (int i = 0; i < nd; ++i) {
    const int64_t x = d[2 + i];
    if (x < 0) continue;
    const int64_t padded = x + 2 * w.p[o + i], dk = w.DilatedK(o + i);
    AX_CHECK(dk <= padded, AX_ERR_SHAPE, attrs.Who(), ": data shape ", d.str(), ": kernel size ", w.k[o + i],
             dk != w.k[o + i] ? StrCat(" (dilated ", dk, ")") : std::string(), " exceeds the input size ", x,
             w.p[o + i] ? StrCat(" padded to ", padded) : std::string(), " along axis ", 2 + i);
    os[2 + i] = (padded - dk) / w.s[o + i] + 1;
  }
  Assign(attrs, out, 0, os, true);
  // back-fill the data shape: the batch, and spatial dims where the stride is 1
  const TShape& oo = (*out)[0];
  d[0] = oo[0];
  for (int i = 0; i < nd; ++i)
    if (d[2 + i] < 0 && oo[2 + i] >= 0 && w.s[o + i] == 1) d[2 + i] = oo[2 + i] + w.DilatedK(o + i) - 1 - 2 * w.p[o + i];
  Assign(attrs, in, 0, d, false);
}

void DeconvShape(const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
  const auto& p = attrs.get<ConvParam>();
  const Window w = GetWindow<true>(attrs);
  const int nd = w.nd, o = 3 - nd;
  TShape d = (*in)[0];
  if (!d.ndim_known()) return;
  CheckDataNDim(attrs, d, w);
  const int64_t F = p.num_filter, G = p.num_group;
  if (d[1] < 0 && (*in)[1].ndim_known() && (*in)[1].ndim() == nd + 2) d[1] = (*in)[1][0];
  if (d[1] >= 0)
    AX_CHECK(d[1] % G == 0, AX_ERR_SHAPE, attrs.Who(), ": data shape ", d.str(), " has ", d[1],
             " channels, which num_group ", G, " does not divide");
  TShape ws(nd + 2);
  ws[0] = d[1];
  ws[1] = F / G;
  for (int i = 0; i < nd; ++i) ws[2 + i] = w.k[o + i];
  Assign(attrs, in, 1, ws, false);
  if (!p.no_bias) Assign(attrs, in, 2, TShape({F}), false);
  TShape os(nd + 2);
  os[0] = d[0];
  os[1] = F;
  for (int i = 0; i < nd; ++i) {
    const int64_t x = d[2 + i];
    if (x < 0) continue;
    int64_t pad, adj;
    DeconvPadAdj(p, w, i, x, &pad, &adj);
    if (!p.target_shape.empty() && p.target_shape[i] > 0) {
      const int64_t full = w.s[o + i] * (x - 1) + w.DilatedK(o + i);
      AX_CHECK(full >= p.target_shape[i], AX_ERR_SHAPE, attrs.Who(), ": target_shape ", TupleStr(p.target_shape),
               " is too big for data shape ", d.str(), " (at most ", full, " along axis ", 2 + i, ")");
    }
    AX_CHECK(adj < w.s[o + i], AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": adj ", adj,
             " must be smaller than the stride ", w.s[o + i], " along axis ", 2 + i);
    const int64_t y = w.s[o + i] * (x - 1) + w.DilatedK(o + i) - 2 * pad + adj;
    AX_CHECK(y > 0 || x == 0, AX_ERR_SHAPE, attrs.Who(), ": data shape ", d.str(), " gives an empty output (",
             y, ") along axis ", 2 + i, ": the padding is too large");
    os[2 + i] = std::max<int64_t>(y, 0);
  }
  Assign(attrs, out, 0, os, true);
  if ((*out)[0][0] >= 0 && d[0] < 0) {
    d[0] = (*out)[0][0];
    Assign(attrs, in, 0, d, false);
  }
}

// The convolution geometry of one image: the conv-view input ("image") of C channels and its
// output grid. For Convolution the image is the data; for Deconvolution it is the output.
ColGeom ConvGeom(const Window& w, const TShape& img, const TShape& grid) {
  ColGeom g;
  g.w = w;
  g.C = img[1];
  const int o = 3 - w.nd;
  for (int i = 0; i < w.nd; ++i) {
    g.in[o + i] = img[2 + i];
    g.out[o + i] = grid[2 + i];
  }
  return g;
}

ColGeom DeconvGeom(const NodeAttrs& attrs, const TShape& data, const TShape& out) {
  const auto& p = attrs.get<ConvParam>();
  Window w = GetWindow<true>(attrs);
  const int o = 3 - w.nd;
  for (int i = 0; i < w.nd; ++i) {
    int64_t pad, adj;
    DeconvPadAdj(p, w, i, data[2 + i], &pad, &adj);
    w.p[o + i] = pad;
  }
  return ConvGeom(w, out, data);
}

// Adds bias[f] to each of the F rows of length L of y.
template <class T>
void AddBias(T* y, const T* bias, int64_t F, int64_t L) {
  for (int64_t f = 0; f < F; ++f) {
    const T b = bias[f];
    T* r = y + f * L;
    for (int64_t i = 0; i < L; ++i) r[i] += b;
  }
}

// bias gradient: sum over batch and space; F rows of length L per image. Each row is summed in
// eight interleaved lanes (independent sums that vectorise; one running sum is a chain of
// dependent adds), the rows of a filter in double; filters in parallel.
template <class T>
void BiasGrad(const T* dy, int64_t N, int64_t F, int64_t L, OpReq req, T* db) {
  if (req == OpReq::kNull) return;
  ParallelFor(F, std::max<int64_t>(1, kElemwiseGrain / std::max<int64_t>(N * L, 1)), [&](int64_t fb, int64_t fe) {
    for (int64_t f = fb; f < fe; ++f) {
      double acc = 0.0;
      for (int64_t n = 0; n < N; ++n) {
        const T* r = dy + (n * F + f) * L;
        T lane[8] = {};
        int64_t i = 0;
        for (; i + 8 <= L; i += 8)
          for (int j = 0; j < 8; ++j) lane[j] += r[i + j];
        T s = ((lane[0] + lane[4]) + (lane[1] + lane[5])) + ((lane[2] + lane[6]) + (lane[3] + lane[7]));
        for (; i < L; ++i) s += r[i];
        acc += s;
      }
      db[f] = req == OpReq::kAdd ? T(db[f] + acc) : T(acc);
    }
  });
}

// Scratch memory of the calling thread, reused across calls up to kKeepBytes.
constexpr size_t kKeepBytes = size_t(16) << 20;
class Scratch {
 public:
  explicit Scratch(size_t bytes) {
    thread_local std::unique_ptr<char[]> keep;
    thread_local size_t keep_size = 0;
    if (bytes > kKeepBytes) {
      own_.reset(new char[bytes]);
      p_ = own_.get();
      return;
    }
    if (keep_size < bytes) {
      keep.reset(new char[bytes]);
      keep_size = bytes;
    }
    p_ = keep.get();
  }
  template <class T>
  T* at(size_t elem_offset) const { return reinterpret_cast<T*>(p_) + elem_offset; }

 private:
  std::unique_ptr<char[]> own_;
  char* p_ = nullptr;
};

// Images per GEMM batch: as many as fit the workspace (MXNet's meaning of `workspace` without
// cuDNN) and kChunkBytes, at least one. Small enough that the column matrix stays in cache
// between im2col and the GEMM, large enough for OpenBLAS to thread the GEMM well.
constexpr int64_t kChunkBytes = int64_t(2) << 20;
int64_t ChunkImages(int64_t per_image_elems, size_t elem, int64_t N, int64_t workspace_mb) {
  const int64_t budget = std::min<int64_t>(std::max<int64_t>(workspace_mb, 1) << 20, kChunkBytes);
  int64_t b = budget / std::max<int64_t>(per_image_elems * static_cast<int64_t>(elem), 1);
  // batches run in parallel (nn::ForChunks): at least one per thread
  if (NumThreads() > 1 && scipy_openblas_get_num_threads() == 1) b = std::min(b, (N + NumThreads() - 1) / NumThreads());
  return std::max<int64_t>(1, std::min<int64_t>(b, std::max<int64_t>(N, 1)));
}

// Adds partial weight gradients of parallel chunks into one sum.
template <class T>
void AddLocked(std::mutex* mu, const std::vector<T>& part, T* dst) {
  std::lock_guard<std::mutex> lk(*mu);
  for (size_t i = 0; i < part.size(); ++i) dst[i] += part[i];
}

// ---- Convolution --------------------------------------------------------------------------
// A batch of B images is lowered to one column matrix col (C*K rows, B*Out columns: image j's
// columns at j*Out), so each group is one GEMM of F/G x B*Out x C/G*K. See nn::ForChunks for how
// the batches are spread over the threads.

// y = conv(x, w) (+ b). x (N, C, in), w (F, C/G * K), y (N, F, out).
template <class T>
void ConvForward(const ColGeom& g, int64_t N, int64_t F, int64_t G, int64_t ws_mb, const T* x, const T* wt,
                 const T* b, OpReq req, T* y) {
  if (req == OpReq::kNull || N == 0) return;
  const int64_t In = g.InSize(), Out = g.OutSize(), CK = g.ColRows() / G, Fg = F / G;
  const int64_t per_image = (g.ColRows() + F) * Out;
  const int64_t B = ChunkImages(per_image, sizeof(T), N, ws_mb);
  nn::ForChunks((N + B - 1) / B, [&](int64_t cb, int64_t ce, bool inner) {
    Scratch ws(sizeof(T) * static_cast<size_t>(per_image * B));
    for (int64_t c = cb; c < ce; ++c) {
      const int64_t n0 = c * B, nb = std::min(B, N - n0), ld = nb * Out;
      T* col = ws.at<T>(0);
      T* tmp = ws.at<T>(static_cast<size_t>(g.ColRows() * ld));
      nn::MaybeParallel(inner, nb, [&](int64_t jb, int64_t je) {
        for (int64_t j = jb; j < je; ++j) nn::Im2Col(g, x + (n0 + j) * g.C * In, col + j * Out, ld);
      });
      for (int64_t k = 0; k < G; ++k)
        nn::ParGemm(inner, false, false, Fg, ld, CK, T(1), wt + k * Fg * CK, CK, col + k * CK * ld, ld, T(0),
                 tmp + k * Fg * ld, ld);
      nn::Scatter(tmp, nb, F, Out, b, req, y + n0 * F * Out, inner);
    }
  });
}

// dx, dw from dy. Any of dx/dw may be skipped by its req.
template <class T>
void ConvBackward(const ColGeom& g, int64_t N, int64_t F, int64_t G, int64_t ws_mb, const T* dy, const T* x,
                  const T* wt, OpReq req_dx, T* dx, OpReq req_dw, T* dw) {
  const int64_t In = g.InSize(), Out = g.OutSize(), CK = g.ColRows() / G, Fg = F / G;
  const bool do_dx = req_dx != OpReq::kNull, do_dw = req_dw != OpReq::kNull;
  if (do_dw && req_dw != OpReq::kAdd) std::fill(dw, dw + F * CK, T(0));
  if (N == 0 || (!do_dx && !do_dw)) return;
  const int64_t per_image = (2 * g.ColRows() + F) * Out;
  const int64_t B = ChunkImages(per_image, sizeof(T), N, ws_mb);
  std::mutex mu;
  nn::ForChunks((N + B - 1) / B, [&](int64_t cb, int64_t ce, bool inner) {
    Scratch ws(sizeof(T) * static_cast<size_t>(per_image * B));
    std::vector<T> part(do_dw && !inner ? static_cast<size_t>(F * CK) : 0, T(0));
    T* dwacc = inner ? dw : part.data();
    for (int64_t c = cb; c < ce; ++c) {
      const int64_t n0 = c * B, nb = std::min(B, N - n0), ld = nb * Out;
      T* col = ws.at<T>(0);
      T* dcol = ws.at<T>(static_cast<size_t>(g.ColRows() * ld));
      T* dyt = ws.at<T>(static_cast<size_t>(2 * g.ColRows() * ld));
      nn::MaybeParallel(inner, nb, [&](int64_t jb, int64_t je) {
        for (int64_t j = jb; j < je; ++j) {
          for (int64_t f = 0; f < F; ++f)
            std::memcpy(dyt + f * ld + j * Out, dy + ((n0 + j) * F + f) * Out, sizeof(T) * Out);
          if (do_dw) nn::Im2Col(g, x + (n0 + j) * g.C * In, col + j * Out, ld);
        }
      });
      if (do_dw)
        for (int64_t k = 0; k < G; ++k)
          nn::ParGemm(inner, false, true, Fg, CK, ld, T(1), dyt + k * Fg * ld, ld, col + k * CK * ld, ld, T(1),
                   dwacc + k * Fg * CK, CK);
      if (do_dx) {
        for (int64_t k = 0; k < G; ++k)
          nn::ParGemm(inner, true, false, CK, ld, Fg, T(1), wt + k * Fg * CK, CK, dyt + k * Fg * ld, ld, T(0),
                   dcol + k * CK * ld, ld);
        nn::MaybeParallel(inner, nb, [&](int64_t jb, int64_t je) {
          for (int64_t j = jb; j < je; ++j) {
            T* dxn = dx + (n0 + j) * g.C * In;
            if (req_dx != OpReq::kAdd) std::fill(dxn, dxn + g.C * In, T(0));
            nn::Col2Im(g, dcol + j * Out, ld, dxn);
          }
        });
      }
    }
    if (!part.empty()) AddLocked(&mu, part, dw);
  });
}

void ConvCompute(const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                 const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const auto& p = attrs.get<ConvParam>();
  const ColGeom g = ConvGeom(GetWindow<false>(attrs), in[0].shape, out[0].shape);
  const int64_t N = in[0].shape[0];
  nn::RunAsFloat(in, req, out, [&](const std::vector<TBlob>& i, const std::vector<TBlob>& o) {
    AX_REAL_SWITCH(o[0].dtype, T, {
      ConvForward<T>(g, N, p.num_filter, p.num_group, p.workspace, i[0].ptr<T>(), i[1].ptr<T>(),
                     p.no_bias ? nullptr : i[2].ptr<T>(), req[0], o[0].ptr<T>());
    });
  });
}

// _backward_Convolution: (ograd, data, weight) -> (data grad, weight grad[, bias grad])
void ConvBackwardCompute(const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                         const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const auto& p = attrs.get<ConvParam>();
  const ColGeom g = ConvGeom(GetWindow<false>(attrs), in[1].shape, in[0].shape);
  const int64_t N = in[1].shape[0];
  nn::RunAsFloat(in, req, out, [&](const std::vector<TBlob>& i, const std::vector<TBlob>& o) {
    AX_REAL_SWITCH(o[0].dtype, T, {
      ConvBackward<T>(g, N, p.num_filter, p.num_group, p.workspace, i[0].ptr<T>(), i[1].ptr<T>(), i[2].ptr<T>(), req[0],
                      o[0].ptr<T>(), req[1], o[1].ptr<T>());
      if (!p.no_bias) BiasGrad<T>(i[0].ptr<T>(), N, p.num_filter, g.OutSize(), req[2], o[2].ptr<T>());
    });
  });
}

// ---- Deconvolution ------------------------------------------------------------------------

// y (N, F, out) = deconv(x (N, C, in), w (C, F/G * K)) (+ b). In the conv view g the image is
// y (F channels) and the grid is x's spatial size: col = W^T x, then col2im into y.
template <class T>
void DeconvForward(const ColGeom& g, int64_t N, int64_t C, int64_t G, int64_t ws_mb, const T* x, const T* wt,
                   const T* b, OpReq req, T* y) {
  if (req == OpReq::kNull || N == 0) return;
  const int64_t F = g.C, Img = g.InSize(), Grid = g.OutSize(), FK = g.ColRows() / G, Cg = C / G;
  const int64_t per_image = (g.ColRows() + C) * Grid;
  const int64_t B = ChunkImages(per_image, sizeof(T), N, ws_mb);
  nn::ForChunks((N + B - 1) / B, [&](int64_t cb, int64_t ce, bool inner) {
    Scratch ws(sizeof(T) * static_cast<size_t>(per_image * B));
    for (int64_t c = cb; c < ce; ++c) {
      const int64_t n0 = c * B, nb = std::min(B, N - n0), ld = nb * Grid;
      T* col = ws.at<T>(0);
      T* xt = ws.at<T>(static_cast<size_t>(g.ColRows() * ld));
      nn::Gather(x + n0 * C * Grid, nb, C, Grid, xt, inner);
      for (int64_t k = 0; k < G; ++k)
        nn::ParGemm(inner, true, false, FK, ld, Cg, T(1), wt + k * Cg * FK, FK, xt + k * Cg * ld, ld, T(0),
                    col + k * FK * ld, ld);
      nn::MaybeParallel(inner, nb, [&](int64_t jb, int64_t je) {
        for (int64_t j = jb; j < je; ++j) {
          T* yn = y + (n0 + j) * F * Img;
          if (req != OpReq::kAdd) std::fill(yn, yn + F * Img, T(0));
          nn::Col2Im(g, col + j * Grid, ld, yn);
          if (b) AddBias(yn, b, F, Img);
        }
      });
    }
  });
}

template <class T>
void DeconvBackward(const ColGeom& g, int64_t N, int64_t C, int64_t G, int64_t ws_mb, const T* dy, const T* x,
                    const T* wt, OpReq req_dx, T* dx, OpReq req_dw, T* dw) {
  const int64_t F = g.C, Img = g.InSize(), Grid = g.OutSize(), FK = g.ColRows() / G, Cg = C / G;
  const bool do_dx = req_dx != OpReq::kNull, do_dw = req_dw != OpReq::kNull;
  if (do_dw && req_dw != OpReq::kAdd) std::fill(dw, dw + C * FK, T(0));
  if (N == 0 || (!do_dx && !do_dw)) return;
  const int64_t per_image = (g.ColRows() + 2 * C) * Grid;
  const int64_t B = ChunkImages(per_image, sizeof(T), N, ws_mb);
  std::mutex mu;
  nn::ForChunks((N + B - 1) / B, [&](int64_t cb, int64_t ce, bool inner) {
    Scratch ws(sizeof(T) * static_cast<size_t>(per_image * B));
    std::vector<T> part(do_dw && !inner ? static_cast<size_t>(C * FK) : 0, T(0));
    T* dwacc = inner ? dw : part.data();
    for (int64_t c = cb; c < ce; ++c) {
      const int64_t n0 = c * B, nb = std::min(B, N - n0), ld = nb * Grid;
      T* col = ws.at<T>(0);
      T* xt = ws.at<T>(static_cast<size_t>(g.ColRows() * ld));
      T* dxt = ws.at<T>(static_cast<size_t>((g.ColRows() + C) * ld));
      nn::MaybeParallel(inner, nb, [&](int64_t jb, int64_t je) {
        for (int64_t j = jb; j < je; ++j) nn::Im2Col(g, dy + (n0 + j) * F * Img, col + j * Grid, ld);
      });
      if (do_dx) {
        for (int64_t k = 0; k < G; ++k)
          nn::ParGemm(inner, false, false, Cg, ld, FK, T(1), wt + k * Cg * FK, FK, col + k * FK * ld, ld, T(0),
                   dxt + k * Cg * ld, ld);
        nn::Scatter(dxt, nb, C, Grid, static_cast<const T*>(nullptr), req_dx, dx + n0 * C * Grid, inner);
      }
      if (do_dw) {
        nn::Gather(x + n0 * C * Grid, nb, C, Grid, xt, inner);
        for (int64_t k = 0; k < G; ++k)
          nn::ParGemm(inner, false, true, Cg, FK, ld, T(1), xt + k * Cg * ld, ld, col + k * FK * ld, ld, T(1),
                   dwacc + k * Cg * FK, FK);
      }
    }
    if (!part.empty()) AddLocked(&mu, part, dw);
  });
}

void DeconvCompute(const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                   const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const auto& p = attrs.get<ConvParam>();
  const ColGeom g = DeconvGeom(attrs, in[0].shape, out[0].shape);
  const int64_t N = in[0].shape[0], C = in[0].shape[1];
  nn::RunAsFloat(in, req, out, [&](const std::vector<TBlob>& i, const std::vector<TBlob>& o) {
    AX_REAL_SWITCH(o[0].dtype, T, {
      DeconvForward<T>(g, N, C, p.num_group, p.workspace, i[0].ptr<T>(), i[1].ptr<T>(), p.no_bias ? nullptr : i[2].ptr<T>(),
                       req[0], o[0].ptr<T>());
    });
  });
}

void DeconvBackwardCompute(const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                           const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const auto& p = attrs.get<ConvParam>();
  const ColGeom g = DeconvGeom(attrs, in[1].shape, in[0].shape);
  const int64_t N = in[1].shape[0], C = in[1].shape[1];
  nn::RunAsFloat(in, req, out, [&](const std::vector<TBlob>& i, const std::vector<TBlob>& o) {
    AX_REAL_SWITCH(o[0].dtype, T, {
      DeconvBackward<T>(g, N, C, p.num_group, p.workspace, i[0].ptr<T>(), i[1].ptr<T>(), i[2].ptr<T>(), req[0], o[0].ptr<T>(),
                        req[1], o[1].ptr<T>());
      if (!p.no_bias) BiasGrad<T>(i[0].ptr<T>(), N, p.num_filter, g.InSize(), req[2], o[2].ptr<T>());
    });
  });
}

// ---- registration helpers -------------------------------------------------------------------

int NumConvInputs(const NodeAttrs& attrs) { return attrs.get<ConvParam>().no_bias ? 2 : 3; }

// _backward_X: inputs (ograd, data, weight); outputs the gradients of data, weight[, bias]. The
// output gradient must have the forward output's shape.
template <bool kDeconv>
void BackwardShape(const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
  const auto& p = attrs.get<ConvParam>();
  if ((*in)[1].ndim_known()) {
    std::vector<TShape> fin = {(*in)[1], (*in)[2]}, fout(1);
    if (!p.no_bias) fin.emplace_back();
    (kDeconv ? DeconvShape : ConvShape)(attrs, &fin, &fout);
    if (!ShapeAssign(&(*in)[0], fout[0]))
      Throw(AX_ERR_SHAPE, attrs.Who(), ": the output gradient has shape ", (*in)[0].str(), ", expected ",
            fout[0].str());
  }
  Assign(attrs, out, 0, (*in)[1], true);
  Assign(attrs, out, 1, (*in)[2], true);
  if (!p.no_bias) Assign(attrs, out, 2, TShape({static_cast<int64_t>(p.num_filter)}), true);
}

template <bool kDeconv>
void DefineConv(OpDef& op) {
  op.input_names = {"data", "weight", "bias"};
  op.num_inputs = NumConvInputs;
  op.params = MakeSchema(DescribeConv<kDeconv>);
  op.infer_shape = kDeconv ? DeconvShape : ConvShape;
  op.infer_type = nn::SameFloatType;
  op.compute_cpu = kDeconv ? DeconvCompute : ConvCompute;
  op.gradient = [](const GradBuilder& g) -> std::vector<NodeEntry> {
    const auto& p = g.attrs().get<ConvParam>();
    NodePtr n = g.MakeMulti(kDeconv ? "_backward_Deconvolution" : "_backward_Convolution",
                            {g.ograd(0), g.input(0), g.input(1)}, g.attr_dict());
    std::vector<NodeEntry> r = {Out(n, 0), Out(n, 1)};
    if (!p.no_bias) r.push_back(Out(n, 2));
    return r;
  };
}

template <bool kDeconv>
void DefineConvBackward(OpDef& op) {
  op.input_names = {"ograd", "data", "weight"};
  op.doc = kDeconv ? "The gradient of Deconvolution: data, weight and bias gradients from the output gradient." :
                     "The gradient of Convolution: data, weight and bias gradients from the output gradient.";
  op.params = MakeSchema(DescribeConv<kDeconv>);
  op.num_outputs = [](const NodeAttrs& attrs) { return attrs.get<ConvParam>().no_bias ? 2 : 3; };
  op.output_names = {"data_grad", "weight_grad", "bias_grad"};
  op.infer_shape = BackwardShape<kDeconv>;
  op.infer_type = nn::SameFloatType;
  op.compute_cpu = kDeconv ? DeconvBackwardCompute : ConvBackwardCompute;
}

// ---- UpSampling ---------------------------------------------------------------------------


void DescribeUp(ParamBuilder<UpParam>& b) {
  b.Field("scale", &UpParam::scale).Describe("Up sampling scale");
  b.Field("num_filter", &UpParam::num_filter, 0)
      .Describe("Input filter. Only used by bilinear sample_type. Since bilinear upsampling uses deconvolution, "
                "num_filters is set to the number of channels.");
  b.Enum("sample_type", &UpParam::sample_type, {"nearest", "bilinear"}, "").Describe("upsampling method");
  b.Enum("multi_input_mode", &UpParam::multi_input_mode, {"concat", "sum"}, "concat")
      .Describe("How to handle multiple input. concat means concatenate upsampled images along the channel "
                "dimension. sum means add all images together, only available for nearest neighbor upsampling.");
  b.Field("num_args", &UpParam::num_args)
      .Describe("Number of inputs to be upsampled. For nearest neighbor upsampling, this can be 1-N; the size of "
                "output will be (scale*h_0,scale*w_0) and all other inputs will be upsampled to the same size. For "
                "bilinear upsampling this must be 2; 1 input and 1 weight.");
  b.Field("workspace", &UpParam::workspace, 512).Describe("Tmp workspace for deconvolution (MB); ignored.");
}

// Bilinear upsampling is a depthwise deconvolution (MXNet's GetDeconvolutionParam).
Window BilinearWindow(int scale) {
  Window w;
  w.nd = 2;
  for (int i = 1; i < 3; ++i) {
    w.k[i] = 2 * scale - scale % 2;
    w.s[i] = scale;
    w.p[i] = (scale - 1 + 1) / 2;  // ceil((scale - 1) / 2)
  }
  return w;
}

void CheckUp(const NodeAttrs& attrs) {
  const auto& p = attrs.get<UpParam>();
  AX_CHECK(p.scale >= 1, AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": scale must be >= 1, got ", p.scale);
  AX_CHECK(p.num_args >= 1, AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": num_args must be >= 1, got ", p.num_args);
  if (p.sample_type == kBilinear) {
    AX_CHECK(p.num_args == 2, AX_ERR_INVALID_ARGUMENT, attrs.Who(),
             ": bilinear upsampling takes 2 inputs (data, weight), num_args is ", p.num_args);
    AX_CHECK(p.multi_input_mode == kConcat, AX_ERR_INVALID_ARGUMENT, attrs.Who(),
             ": multi_input_mode 'sum' is only available for nearest upsampling");
  }
}

void UpShape(const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
  const auto& p = attrs.get<UpParam>();
  CheckUp(attrs);
  const TShape d = (*in)[0];
  if (!d.ndim_known()) return;
  const char* what = p.sample_type == kNearest ? "UpSamplingNearest" : "UpSamplingBilinear";
  for (size_t i = 0; i < in->size(); ++i) {
    if (p.sample_type == kBilinear && i == 1) break;
    const TShape& s = (*in)[i];
    AX_CHECK(!s.ndim_known() || s.ndim() == 4, AX_ERR_SHAPE, attrs.Who(), ": ", InputName(attrs, i), " shape ",
             s.str(), ": ", what, " input data should be 4-D (batch, channel, y, x)");
  }
  TShape os = d;
  os[2] = d[2] >= 0 ? d[2] * p.scale : -1;
  os[3] = d[3] >= 0 ? d[3] * p.scale : -1;
  if (p.sample_type == kBilinear) {
    AX_CHECK(d[1] < 0 || p.num_filter == d[1], AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": num_filter (", p.num_filter,
             ") must equal the number of channels of data ", d.str(), " for bilinear upsampling");
    const int64_t k = 2 * p.scale - p.scale % 2;
    Assign(attrs, in, 1, TShape({d[1], 1, k, k}), false);
  } else {
    int64_t channels = 0;
    for (size_t i = 0; i < in->size(); ++i) {
      const TShape& s = (*in)[i];
      if (!s.known() || !d.known()) {
        channels = -1;
        continue;
      }
      const int64_t oh = os[2], ow = os[3];
      AX_CHECK(s[0] == d[0], AX_ERR_SHAPE, attrs.Who(), ": input ", InputName(attrs, i), " shape ", s.str(),
               " has batch size ", s[0], ", expected ", d[0]);
      AX_CHECK(s[2] > 0 && s[3] > 0 && oh % s[2] == 0 && ow % s[3] == 0 && oh / s[2] == ow / s[3], AX_ERR_SHAPE,
               attrs.Who(), ": input ", InputName(attrs, i), " shape ", s.str(), " does not upsample to the output size (",
               oh, ", ", ow, ") by one integer scale");
      if (p.multi_input_mode == kSum) {
        AX_CHECK(s[1] == d[1], AX_ERR_SHAPE, attrs.Who(), ": input ", InputName(attrs, i), " shape ", s.str(),
                 ": the number of channels must be the same when multi_input_mode is 'sum' (", d[1], ")");
        channels = d[1];
      } else if (channels >= 0) {
        channels += s[1];
      }
    }
    os[1] = channels;
  }
  if (!ShapeAssign(&(*out)[0], os))
    Throw(AX_ERR_SHAPE, attrs.Who(), ": output has shape ", (*out)[0].str(), ", expected ", os.str());
}

template <class T>
void NearestForward(const UpParam& p, const std::vector<TBlob>& in, OpReq req, const TBlob& out) {
  const int64_t N = out.shape[0], CO = out.shape[1], OH = out.shape[2], OW = out.shape[3];
  T* y = out.ptr<T>();
  // channel c of the output: (input, channel) for concat; sum mode adds every input at c
  std::vector<std::pair<int, int64_t>> src;
  if (p.multi_input_mode == kConcat)
    for (size_t i = 0; i < in.size(); ++i)
      for (int64_t c = 0; c < in[i].shape[1]; ++c) src.emplace_back(static_cast<int>(i), c);
  ParallelFor(N * CO, std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(OH * OW, 1)), [&](int64_t b, int64_t e) {
    for (int64_t pl = b; pl < e; ++pl) {
      const int64_t n = pl / CO, c = pl % CO;
      T* yp = y + pl * OH * OW;
      if (req != OpReq::kAdd) std::fill(yp, yp + OH * OW, T(0));
      for (size_t i = 0; i < in.size(); ++i) {
        int64_t ci = c;
        if (p.multi_input_mode == kConcat) {
          if (src[c].first != static_cast<int>(i)) continue;
          ci = src[c].second;
        }
        const TShape& s = in[i].shape;
        const int64_t H = s[2], W = s[3], sc = OH / H;
        const T* xp = in[i].ptr<T>() + (n * s[1] + ci) * H * W;
        for (int64_t yy = 0; yy < OH; ++yy) {
          const T* xr = xp + (yy / sc) * W;
          T* yr = yp + yy * OW;
          for (int64_t xx = 0; xx < OW; ++xx) yr[xx] += xr[xx / sc];
        }
      }
    }
  });
}

// gradients of the inputs (shapes of in[1..]) from dy = in[0]
template <class T>
void NearestBackward(const UpParam& p, const std::vector<TBlob>& in, const std::vector<OpReq>& req,
                     const std::vector<TBlob>& out) {
  const TBlob& dy = in[0];
  const int64_t N = dy.shape[0], CO = dy.shape[1], OH = dy.shape[2], OW = dy.shape[3];
  int64_t off = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    const TShape& s = out[i].shape;
    const int64_t C = s[1], H = s[2], W = s[3];
    const int64_t c0 = p.multi_input_mode == kConcat ? off : 0;
    off += C;
    if (req[i] == OpReq::kNull || H == 0 || W == 0) continue;
    const int64_t sc = OH / H;
    T* dx = out[i].ptr<T>();
    ParallelFor(N * C, std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(OH * OW, 1)), [&](int64_t b, int64_t e) {
      for (int64_t pl = b; pl < e; ++pl) {
        const int64_t n = pl / C, c = pl % C;
        const T* gp = dy.ptr<T>() + (n * CO + c0 + c) * OH * OW;
        T* dp = dx + pl * H * W;
        if (req[i] != OpReq::kAdd) std::fill(dp, dp + H * W, T(0));
        for (int64_t yy = 0; yy < OH; ++yy) {
          const T* gr = gp + yy * OW;
          T* dr = dp + (yy / sc) * W;
          for (int64_t xx = 0; xx < OW; ++xx) dr[xx / sc] += gr[xx];
        }
      }
    });
  }
}

ColGeom BilinearGeom(const UpParam& p, const TShape& data) {
  ColGeom g;
  g.w = BilinearWindow(p.scale);
  g.C = data[1];
  g.in[1] = data[2] * p.scale;
  g.in[2] = data[3] * p.scale;
  g.out[1] = data[2];
  g.out[2] = data[3];
  return g;
}

}  // namespace

AX_REGISTER_OP("Convolution") {
  DefineConv<false>(op);
  op.doc = "Computes 1-D, 2-D or 3-D convolution (cross-correlation) of channel-first data with weight "
           "(num_filter, channels/num_group, kernel...) and an optional bias (num_filter,); with stride, "
           "dilation, zero padding and groups.";
}
AX_REGISTER_OP("_backward_Convolution") { DefineConvBackward<false>(op); }

AX_REGISTER_OP("Deconvolution") {
  DefineConv<true>(op);
  op.doc = "Computes the transposed convolution (the gradient of Convolution with respect to its data) of "
           "channel-first data with weight (channels, num_filter/num_group, kernel...) and an optional bias "
           "(num_filter,); output size stride*(x-1) + dilate*(kernel-1) + 1 - 2*pad + adj, or target_shape.";
}
AX_REGISTER_OP("_backward_Deconvolution") { DefineConvBackward<true>(op); }

AX_REGISTER_OP("UpSampling") {
  op.doc = "Upsamples 4-D (batch, channel, y, x) data by an integer scale: 'nearest' repeats each pixel (several "
           "inputs are upsampled to scale times the first one's size, then concatenated along channels or summed); "
           "'bilinear' is a depthwise Deconvolution of data with weight (channels, 1, 2*scale - scale%2, same).";
  op.key_var_num_args = "num_args";
  op.params = MakeSchema(DescribeUp);
  op.infer_shape = UpShape;
  op.infer_type = nn::SameFloatType;
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    const auto& p = attrs.get<UpParam>();
    nn::RunAsFloat(in, req, out, [&](const std::vector<TBlob>& i, const std::vector<TBlob>& o) {
      AX_REAL_SWITCH(o[0].dtype, T, {
        if (p.sample_type == kNearest) {
          if (req[0] != OpReq::kNull) NearestForward<T>(p, i, req[0], o[0]);
        } else {
          const int64_t N = i[0].shape[0], C = i[0].shape[1];
          DeconvForward<T>(BilinearGeom(p, i[0].shape), N, C, C, p.workspace, i[0].ptr<T>(), i[1].ptr<T>(), nullptr, req[0],
                           o[0].ptr<T>());
        }
      });
    });
  };
  op.gradient = [](const GradBuilder& g) -> std::vector<NodeEntry> {
    std::vector<NodeEntry> ins = {g.ograd(0)};
    for (size_t i = 0; i < g.node()->inputs.size(); ++i) ins.push_back(g.input(i));
    NodePtr n = g.MakeMulti("_backward_UpSampling", ins, g.attr_dict());
    std::vector<NodeEntry> r;
    for (size_t i = 0; i < g.node()->inputs.size(); ++i) r.push_back(Out(n, static_cast<uint32_t>(i)));
    return r;
  };
}

AX_REGISTER_OP("_backward_UpSampling") {
  op.doc = "The gradient of UpSampling: inputs (ograd, the forward inputs...), one gradient per forward input.";
  op.input_names = {"ograd"};
  op.params = MakeSchema(DescribeUp);
  op.num_inputs = [](const NodeAttrs& attrs) { return 1 + attrs.get<UpParam>().num_args; };
  op.num_outputs = [](const NodeAttrs& attrs) { return attrs.get<UpParam>().num_args; };
  op.infer_shape = [](const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
    std::vector<TShape> fin(in->begin() + 1, in->end()), fout(1);
    UpShape(attrs, &fin, &fout);
    if (!ShapeAssign(&(*in)[0], fout[0]))
      Throw(AX_ERR_SHAPE, attrs.Who(), ": the output gradient has shape ", (*in)[0].str(), ", expected ",
            fout[0].str());
    for (size_t i = 0; i < out->size(); ++i) Assign(attrs, out, i, (*in)[i + 1], true);
  };
  op.infer_type = nn::SameFloatType;
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    const auto& p = attrs.get<UpParam>();
    nn::RunAsFloat(in, req, out, [&](const std::vector<TBlob>& i, const std::vector<TBlob>& o) {
      AX_REAL_SWITCH(o[0].dtype, T, {
        if (p.sample_type == kNearest) {
          NearestBackward<T>(p, i, req, o);
        } else {
          const int64_t N = i[1].shape[0], C = i[1].shape[1];
          DeconvBackward<T>(BilinearGeom(p, i[1].shape), N, C, C, p.workspace, i[0].ptr<T>(), i[1].ptr<T>(), i[2].ptr<T>(),
                            req[0], o[0].ptr<T>(), req[1], o[1].ptr<T>());
        }
      });
    });
  };
}

}  // namespace axle

namespace {
const bool ax_conv_aliases = [] {
  auto* r = axle::OpRegistry::Get();
  r->Alias("_npx_convolution", "Convolution");
  r->Alias("_npx_deconvolution", "Deconvolution");
  return true;
}();
}  // namespace
