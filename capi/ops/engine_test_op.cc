// _engine_rendezvous: an op for testing the engine without timing. Each call joins the group
// `key`; it returns once `parties` calls of that group are running at the same time, or fails
// after timeout_ms. Two such ops can only both succeed if the engine ran them concurrently;
// ops that the engine must order (same var written) make the first one time out.
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>

#include "ops/cpu/kernel.h"

namespace axle {
namespace {

struct RendezvousParam {
  int key;
  int parties;
  int timeout_ms;
};
void DescribeRendezvous(ParamBuilder<RendezvousParam>& b) {
  b.Field("key", &RendezvousParam::key).Describe("Group id");
  b.Field("parties", &RendezvousParam::parties, 2).Describe("Calls that must run together");
  b.Field("timeout_ms", &RendezvousParam::timeout_ms, 2000).Describe("How long to wait for the others");
}

struct Group {
  int arrived = 0;
};
std::mutex g_mu;
std::condition_variable g_cv;
std::map<int, Group> g_groups;

}  // namespace

AX_REGISTER_OP("_engine_rendezvous") {
  op.input_names = {"data"};
  op.doc = "Testing aid: copies data once `parties` calls with the same key run concurrently; fails after timeout_ms.";
  op.params = MakeSchema(DescribeRendezvous);
  op.may_block = true;
  op.infer_shape = SameShape;
  op.infer_type = SameType;
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    const auto& p = attrs.get<RendezvousParam>();
    {
      std::unique_lock<std::mutex> lk(g_mu);
      Group& g = g_groups[p.key];
      ++g.arrived;
      g_cv.notify_all();
      bool ok = g_cv.wait_for(lk, std::chrono::milliseconds(p.timeout_ms),
                              [&] { return g_groups[p.key].arrived >= p.parties; });
      if (!ok) {
        --g_groups[p.key].arrived;
        Throw(AX_ERR_RUNTIME, "rendezvous ", p.key, " timed out: ", g_groups[p.key].arrived + 1, " of ", p.parties,
              " calls ran concurrently");
      }
    }
    if (req[0] != OpReq::kNull && out[0].dptr != in[0].dptr)
      std::memcpy(out[0].dptr, in[0].dptr, out[0].Size() * DTypeSize(out[0].dtype));
  };
}

}  // namespace axle
