// The C boundary: every exported function runs its body inside AX_API_BEGIN/END, which turns
// every C++ exception into a status code and a thread-local message. Handles are registered
// with a kind tag on creation and checked on every use, so a freed or foreign handle is an
// error, not a crash.
#pragma once
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/base.h"
#include "ndarray/ndarray.h"

struct AxNDArray_ {
  axle::NDArray arr;
};

namespace axle {

enum class HandleKind : int { kNDArray = 1, kSymbol = 2, kExecutor = 3 };

class Handles {
 public:
  static Handles* Get();
  void Add(const void* h, HandleKind k);
  // Removes h; false if it was not live with kind k.
  bool Remove(const void* h, HandleKind k);
  // Throws AX_ERR_INVALID_HANDLE naming `what` unless h is live with kind k (AX_ERR_INVALID_ARGUMENT
  // when h is NULL).
  void Check(const void* h, HandleKind k, const char* what);
  // The same for element i of an array argument: the message names "fn: name[i]" (built only on failure).
  void CheckItem(const void* h, HandleKind k, const char* fn, const char* name, int i);
  int64_t Count();

 private:
  bool Live(const void* h, HandleKind k);
  [[noreturn]] void Fail(const void* h, HandleKind k, const std::string& what);
  std::mutex mu_;
  std::unordered_map<const void*, HandleKind> live_;
};

void SetLastError(const std::string& msg);
const char* LastError();
int HandleException();  // maps the exception in flight to a status

inline const NDArray& Arr(AxNDArrayHandle h, const char* what) {
  Handles::Get()->Check(h, HandleKind::kNDArray, what);
  return h->arr;
}
inline const NDArray& ArrItem(AxNDArrayHandle h, const char* fn, const char* name, int i) {
  Handles::Get()->CheckItem(h, HandleKind::kNDArray, fn, name, i);
  return h->arr;
}
AxNDArrayHandle NewHandle(NDArray a);
// An array argument of n elements: n >= 0, and p non-NULL when n > 0 ("fn: argument 'name' is NULL").
void CheckArrayArg(const void* p, int n, const char* fn, const char* name, const char* count_name);

struct OpDef;
// The op behind a handle (AX_ERR_INVALID_HANDLE unless it is one); fn names the caller.
const OpDef* CheckOp(AxOpHandle h, const char* fn);
// String attributes from C arrays, checked (counts, NULL keys and values).
// count_name: how the caller's function calls n (its error messages use it)
std::vector<std::pair<std::string, std::string>> ParamDict(int n, const char* const* keys, const char* const* vals,
                                                           const char* fn, const char* count_name = "num_params");

}  // namespace axle

#define AX_API_BEGIN try {
#define AX_API_END                      \
  }                                     \
  catch (...) {                         \
    return ::axle::HandleException();   \
  }                                     \
  return AX_OK;

#define AX_CHECK_NOTNULL(p) AX_CHECK((p) != nullptr, AX_ERR_INVALID_ARGUMENT, __func__, ": argument '", #p, "' is NULL")
