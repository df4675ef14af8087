// dot and batch_dot (MXNet 1.x semantics) and their backward ops, as matrix products.
//
// dot views an N-d lhs as a matrix (prod(shape[:-1]), shape[-1]) -- or (shape[0], prod(shape[1:]))
// when transpose_a -- and an M-d rhs as (shape[0], prod(shape[1:])) -- or (prod(shape[:-1]),
// shape[-1]) when transpose_b -- so it contracts the last axis of lhs with the first axis of rhs.
#include "graph/grad_util.h"
#include "ops/cpu/gemm.h"
#include "ops/dot_op.h"

namespace axle {
namespace {

void DescribeDot(ParamBuilder<DotParam>& b) {
  b.Field("transpose_a", &DotParam::transpose_a, false)
      .Describe("If true then transpose the first input before dot.");
  b.Field("transpose_b", &DotParam::transpose_b, false)
      .Describe("If true then transpose the second input before dot.");
  b.Enum("forward_stype", &DotParam::forward_stype, {"csr", "default", "row_sparse"}, "None", true)
      .Describe("The desired storage type of the forward output (only dense storage is supported).");
}

void CheckStype(const NodeAttrs& attrs) {
  int st = attrs.get<DotParam>().forward_stype;
  AX_CHECK(st < 0 || st == 1, AX_ERR_NOT_SUPPORTED, attrs.Who(), ": forward_stype '", st == 0 ? "csr" : "row_sparse",
           "' is not supported (sparse storage)");
}

int64_t Prod(const TShape& s, int b, int e) {  // -1 if any dim is unknown
  int64_t p = 1;
  for (int i = b; i < e; ++i) {
    if (s[i] < 0) return -1;
    p *= s[i];
  }
  return p;
}

// The matrix view of a dot: C (M x N) = op(A) (M x K) * op(B) (K x N).
struct DotDims {
  int64_t M, N, K, Kb;  // K from lhs, Kb from rhs (equal when valid)
};

DotDims GetDotDims(const TShape& l, const TShape& r, bool ta, bool tb) {
  DotDims d;
  const int ln = l.ndim(), rn = r.ndim();
  if (ta) {
    d.K = l[0];
    d.M = Prod(l, 1, ln);
  } else {
    d.M = Prod(l, 0, ln - 1);
    d.K = l[ln - 1];
  }
  if (tb) {
    d.N = Prod(r, 0, rn - 1);
    d.Kb = r[rn - 1];
  } else {
    d.Kb = r[0];
    d.N = Prod(r, 1, rn);
  }
  return d;
}

void DotShape(const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
  const auto& p = attrs.get<DotParam>();
  CheckStype(attrs);
  const TShape& l = (*in)[0];
  const TShape& r = (*in)[1];
  if (!l.ndim_known() || !r.ndim_known()) return;
  AX_CHECK(l.ndim() >= 1 && r.ndim() >= 1, AX_ERR_SHAPE, attrs.Who(), ": dot of 0-d arrays is not supported: ",
           l.str(), " X ", r.str());
  TShape o;
  if (l.ndim() == 1 && r.ndim() == 1) {
    AX_CHECK(!p.transpose_a && !p.transpose_b, AX_ERR_SHAPE, attrs.Who(), ": cannot transpose vectors: ", l.str(),
             " X ", r.str());
    AX_CHECK(l[0] < 0 || r[0] < 0 || l[0] == r[0], AX_ERR_SHAPE, attrs.Who(), ": shape mismatch: ", l.str(), " X ",
             r.str());
    o = TShape{1};
  } else {
    DotDims d = GetDotDims(l, r, p.transpose_a, p.transpose_b);
    AX_CHECK(d.K < 0 || d.Kb < 0 || d.K == d.Kb, AX_ERR_SHAPE, attrs.Who(), ": shape mismatch: ", l.str(), " X ",
             r.str(), " (transpose_a=", p.transpose_a, ", transpose_b=", p.transpose_b, ")");
    std::vector<int64_t> dims;
    if (l.ndim() > 1) {
      if (p.transpose_a) dims.insert(dims.end(), l.begin() + 1, l.end());
      else dims.insert(dims.end(), l.begin(), l.end() - 1);
    }
    if (r.ndim() > 1) {
      if (p.transpose_b) dims.insert(dims.end(), r.begin(), r.end() - 1);
      else dims.insert(dims.end(), r.begin() + 1, r.end());
    }
    o = TShape(dims.begin(), dims.end());
  }
  if (!ShapeAssign(&(*out)[0], o))
    Throw(AX_ERR_SHAPE, attrs.Who(), ": output shape ", (*out)[0].str(), " does not match ", o.str());
}

void GemmType(const NodeAttrs& attrs, std::vector<int>* in, std::vector<int>* out) {
  SameType(attrs, in, out);
  AX_CHECK((*out)[0] != AX_BOOL, AX_ERR_TYPE, attrs.Who(), ": bool arrays are not supported");
}

void DotForward(const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in, const std::vector<OpReq>& req,
                const std::vector<TBlob>& out) {
  if (req[0] == OpReq::kNull) return;
  const auto& p = attrs.get<DotParam>();
  const TShape &l = in[0].shape, &r = in[1].shape;
  DotDims d = l.ndim() == 1 && r.ndim() == 1 ? DotDims{1, 1, l[0], l[0]} : GetDotDims(l, r, p.transpose_a, p.transpose_b);
  AX_GEMM_TYPE_SWITCH(out[0].dtype, DType, attrs.Who(), {
    Gemm<DType>(p.transpose_a, p.transpose_b, d.M, d.N, d.K, in[0].ptr<DType>(), p.transpose_a ? d.M : d.K,
                in[1].ptr<DType>(), p.transpose_b ? d.K : d.N, out[0].ptr<DType>(), d.N, req[0] == OpReq::kAdd);
  });
}

// Gradients of C = op(A) op(B), given dC (M x N), into dA (stored like A) and dB (stored like B).
template <class DType>
void DotBackward(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const DType* dC, const DType* A, const DType* B,
                 DType* dA, OpReq ra, DType* dB, OpReq rb) {
  const int64_t lda = ta ? M : K, ldb = tb ? K : N;
  if (ra != OpReq::kNull) {
    const bool acc = ra == OpReq::kAdd;
    if (!ta)  // dA (M x K) = dC op(B)^T
      Gemm<DType>(false, !tb, M, K, N, dC, N, B, ldb, dA, K, acc);
    else  // dA (K x M) = op(B) dC^T
      Gemm<DType>(tb, true, K, M, N, B, ldb, dC, N, dA, M, acc);
  }
  if (rb != OpReq::kNull) {
    const bool acc = rb == OpReq::kAdd;
    if (!tb)  // dB (K x N) = op(A)^T dC
      Gemm<DType>(!ta, false, K, N, M, A, lda, dC, N, dB, N, acc);
    else  // dB (N x K) = dC^T op(A)
      Gemm<DType>(true, ta, N, K, M, dC, N, A, lda, dB, K, acc);
  }
}

void DotBackwardShape(const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
  for (int i = 0; i < 2; ++i)
    if (!ShapeAssign(&(*out)[i], (*in)[i + 1]))
      Throw(AX_ERR_SHAPE, attrs.Who(), ": gradient shape ", (*out)[i].str(), " does not match ", (*in)[i + 1].str());
}

// ---- batch_dot ----------------------------------------------------------------------------
void BatchDotShape(const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
  const auto& p = attrs.get<DotParam>();
  CheckStype(attrs);
  const TShape& l = (*in)[0];
  const TShape& r = (*in)[1];
  if (!l.ndim_known() || !r.ndim_known()) return;
  AX_CHECK(l.ndim() >= 3 && l.ndim() == r.ndim(), AX_ERR_SHAPE, attrs.Who(),
           ": only N-d x N-d arrays with N >= 3 are supported, got ", l.str(), " X ", r.str());
  const int n = l.ndim();
  TShape o(n);
  for (int i = 0; i < n - 2; ++i) {
    AX_CHECK(l[i] < 0 || r[i] < 0 || l[i] == r[i], AX_ERR_SHAPE, attrs.Who(),
             ": the leading batch dimensions must be equal: ", l.str(), " X ", r.str());
    o[i] = l[i] >= 0 ? l[i] : r[i];
  }
  const int64_t lk = p.transpose_a ? l[n - 2] : l[n - 1], rk = p.transpose_b ? r[n - 1] : r[n - 2];
  AX_CHECK(lk < 0 || rk < 0 || lk == rk, AX_ERR_SHAPE, attrs.Who(), ": shape mismatch: ", l.str(), " X ", r.str(),
           " (transpose_a=", p.transpose_a, ", transpose_b=", p.transpose_b, ")");
  o[n - 2] = p.transpose_a ? l[n - 1] : l[n - 2];
  o[n - 1] = p.transpose_b ? r[n - 2] : r[n - 1];
  if (!ShapeAssign(&(*out)[0], o))
    Throw(AX_ERR_SHAPE, attrs.Who(), ": output shape ", (*out)[0].str(), " does not match ", o.str());
}

struct BatchDims {
  int64_t batch, M, N, K;
};
BatchDims GetBatchDims(const TShape& l, const TShape& r, bool ta, bool tb) {
  const int n = l.ndim();
  BatchDims d;
  d.batch = l.ProdRange(0, n - 2);
  d.M = ta ? l[n - 1] : l[n - 2];
  d.K = ta ? l[n - 2] : l[n - 1];
  d.N = tb ? r[n - 2] : r[n - 1];
  return d;
}

}  // namespace

AX_REGISTER_OP("dot") {
  op.input_names = {"lhs", "rhs"};
  op.doc =
      "Dot product of two arrays. 1-D x 1-D gives the inner product (shape (1,)); otherwise lhs is viewed as a "
      "matrix of its leading axes by its last axis (by its first axis and the rest when transpose_a), rhs as its "
      "first axis by the rest (the leading axes by the last when transpose_b), and the output has the remaining "
      "axes of lhs followed by those of rhs.";
  op.params = MakeSchema(DescribeDot);
  op.infer_shape = DotShape;
  op.infer_type = GemmType;
  op.compute_cpu = DotForward;
  op.gradient = [](const GradBuilder& g) -> std::vector<NodeEntry> {
    NodePtr n = g.MakeMulti("_backward_dot", {OGrad(g), In(g, 0), In(g, 1)}, g.attr_dict());
    return {Out(n, 0), Out(n, 1)};
  };
}

AX_REGISTER_OP("_backward_dot") {
  op.input_names = {"ograd", "lhs", "rhs"};
  op.doc = "Gradients of dot with respect to lhs and rhs.";
  op.params = MakeSchema(DescribeDot);
  op.num_outputs = [](const NodeAttrs&) { return 2; };
  op.output_names = {"lhs_grad", "rhs_grad"};
  op.infer_shape = DotBackwardShape;
  op.infer_type = GemmType;
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    const auto& p = attrs.get<DotParam>();
    const TShape &l = in[1].shape, &r = in[2].shape;
    const bool vec = l.ndim() == 1 && r.ndim() == 1;
    DotDims d = vec ? DotDims{1, 1, l[0], l[0]} : GetDotDims(l, r, p.transpose_a, p.transpose_b);
    AX_GEMM_TYPE_SWITCH(in[0].dtype, DType, attrs.Who(), {
      DotBackward<DType>(p.transpose_a, p.transpose_b, d.M, d.N, d.K, in[0].ptr<DType>(), in[1].ptr<DType>(),
                         in[2].ptr<DType>(), out[0].ptr<DType>(), req[0], out[1].ptr<DType>(), req[1]);
    });
  };
}

AX_REGISTER_OP("batch_dot") {
  op.input_names = {"lhs", "rhs"};
  op.doc =
      "Batchwise dot product: lhs (..., M, K) and rhs (..., K, N) (the last two axes swapped by transpose_a / "
      "transpose_b) give (..., M, N); the leading batch axes must be equal and N-d with N >= 3.";
  op.params = MakeSchema(DescribeDot);
  op.infer_shape = BatchDotShape;
  op.infer_type = GemmType;
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    if (req[0] == OpReq::kNull) return;
    const auto& p = attrs.get<DotParam>();
    BatchDims d = GetBatchDims(in[0].shape, in[1].shape, p.transpose_a, p.transpose_b);
    AX_GEMM_TYPE_SWITCH(out[0].dtype, DType, attrs.Who(), {
      const DType* a = in[0].ptr<DType>();
      const DType* b = in[1].ptr<DType>();
      DType* c = out[0].ptr<DType>();
      for (int64_t i = 0; i < d.batch; ++i)
        Gemm<DType>(p.transpose_a, p.transpose_b, d.M, d.N, d.K, a + i * d.M * d.K, p.transpose_a ? d.M : d.K,
                    b + i * d.K * d.N, p.transpose_b ? d.K : d.N, c + i * d.M * d.N, d.N, req[0] == OpReq::kAdd);
    });
  };
  op.gradient = [](const GradBuilder& g) -> std::vector<NodeEntry> {
    NodePtr n = g.MakeMulti("_backward_batch_dot", {OGrad(g), In(g, 0), In(g, 1)}, g.attr_dict());
    return {Out(n, 0), Out(n, 1)};
  };
}

AX_REGISTER_OP("_backward_batch_dot") {
  op.input_names = {"ograd", "lhs", "rhs"};
  op.doc = "Gradients of batch_dot with respect to lhs and rhs.";
  op.params = MakeSchema(DescribeDot);
  op.num_outputs = [](const NodeAttrs&) { return 2; };
  op.output_names = {"lhs_grad", "rhs_grad"};
  op.infer_shape = DotBackwardShape;
  op.infer_type = GemmType;
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    const auto& p = attrs.get<DotParam>();
    BatchDims d = GetBatchDims(in[1].shape, in[2].shape, p.transpose_a, p.transpose_b);
    AX_GEMM_TYPE_SWITCH(in[0].dtype, DType, attrs.Who(), {
      const int64_t sa = d.M * d.K, sb = d.K * d.N, sc = d.M * d.N;
      for (int64_t i = 0; i < d.batch; ++i)
        DotBackward<DType>(p.transpose_a, p.transpose_b, d.M, d.N, d.K, in[0].ptr<DType>() + i * sc,
                           in[1].ptr<DType>() + i * sa, in[2].ptr<DType>() + i * sb, out[0].ptr<DType>() + i * sa,
                           req[0], out[1].ptr<DType>() + i * sb, req[1]);
    });
  };
}

}  // namespace axle
