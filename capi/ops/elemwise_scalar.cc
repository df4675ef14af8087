// Elementwise ops between an array and a scalar attribute (MXNet's _plus_scalar family).
#include "ops/cpu/kernel.h"
#include "ops/cpu/math_functors.h"

namespace axle {
namespace {

struct ScalarParam {
  double scalar;
};
void DescribeScalar(ParamBuilder<ScalarParam>& b) {
  b.Field("scalar", &ScalarParam::scalar, 1.0).Describe("The scalar operand");
}

template <class OP>
void ScalarCompute(const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                   const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const double s = attrs.get<ScalarParam>().scalar;
  AX_TYPE_SWITCH(out[0].dtype, DType, {
    const DType* x = in[0].ptr<DType>();
    const DType v = Cast<DType>(s);
    MapIndex(out[0].Size(), req[0], out[0].ptr<DType>(), [=](int64_t i) { return OP::Map(x[i], v); });
  });
}

template <class OP>
void DefineScalar(OpDef& op, const std::string& what) {
  op.input_names = {"data"};
  op.doc = what + " (the scalar is converted to the array's dtype).";
  op.params = MakeSchema(DescribeScalar);
  op.infer_shape = SameShape;
  op.infer_type = SameType;
  op.compute_cpu = ScalarCompute<OP>;
  op.inplace = {{0, 0}};
}

}  // namespace

#define AX_SCALAR(name, OP, what) \
  AX_REGISTER_OP(name) { DefineScalar<OP>(op, what); }

AX_SCALAR("_plus_scalar", fn::Add, "data + scalar")
AX_SCALAR("_minus_scalar", fn::Sub, "data - scalar")
AX_SCALAR("_rminus_scalar", fn::Rev<fn::Sub>, "scalar - data")
AX_SCALAR("_mul_scalar", fn::Mul, "data * scalar")
AX_SCALAR("_div_scalar", fn::Div, "data / scalar")
AX_SCALAR("_rdiv_scalar", fn::Rev<fn::Div>, "scalar / data")
AX_SCALAR("_mod_scalar", fn::Mod, "data % scalar")
AX_SCALAR("_rmod_scalar", fn::Rev<fn::Mod>, "scalar % data")
AX_SCALAR("_power_scalar", fn::Power, "data ** scalar")
AX_SCALAR("_rpower_scalar", fn::Rev<fn::Power>, "scalar ** data")
AX_SCALAR("_maximum_scalar", fn::Maximum, "max(data, scalar)")
AX_SCALAR("_minimum_scalar", fn::Minimum, "min(data, scalar)")
AX_SCALAR("_equal_scalar", fn::Equal, "1 where data == scalar, else 0")
AX_SCALAR("_not_equal_scalar", fn::NotEqual, "1 where data != scalar, else 0")
AX_SCALAR("_greater_scalar", fn::Greater, "1 where data > scalar, else 0")
AX_SCALAR("_greater_equal_scalar", fn::GreaterEqual, "1 where data >= scalar, else 0")
AX_SCALAR("_lesser_scalar", fn::Lesser, "1 where data < scalar, else 0")
AX_SCALAR("_lesser_equal_scalar", fn::LesserEqual, "1 where data <= scalar, else 0")

}  // namespace axle
