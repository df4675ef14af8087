#include "c_api/c_api_common.h"

#include <new>

namespace axle {

namespace {
thread_local std::string last_error;
}

void SetLastError(const std::string& msg) { last_error = msg; }
const char* LastError() { return last_error.c_str(); }

int HandleException() {
  try {
    throw;
  } catch (const Error& e) {
    SetLastError(e.what());
    return e.status();
  } catch (const std::bad_alloc&) {
    SetLastError("out of memory");
    return AX_ERR_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    SetLastError(e.what());
    return AX_ERR_RUNTIME;
  } catch (...) {
    SetLastError("unknown error");
    return AX_ERR_RUNTIME;
  }
}

Handles* Handles::Get() {
  static Handles* h = new Handles();
  return h;
}

void Handles::Add(const void* h, HandleKind k) {
  std::lock_guard<std::mutex> lk(mu_);
  live_[h] = k;
}

bool Handles::Remove(const void* h, HandleKind k) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = live_.find(h);
  if (it == live_.end() || it->second != k) return false;
  live_.erase(it);
  return true;
}

static const char* KindName(HandleKind k) {
  switch (k) {
    case HandleKind::kNDArray: return "NDArray";
    case HandleKind::kSymbol: return "Symbol";
    case HandleKind::kExecutor: return "Executor";
  }
  return "?";
}

bool Handles::Live(const void* h, HandleKind k) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = live_.find(h);
  return it != live_.end() && it->second == k;
}

void Handles::Fail(const void* h, HandleKind k, const std::string& what) {
  AX_CHECK(h != nullptr, AX_ERR_INVALID_ARGUMENT, what, " is NULL");
  std::lock_guard<std::mutex> lk(mu_);
  auto it = live_.find(h);
  if (it == live_.end()) Throw(AX_ERR_INVALID_HANDLE, what, " is not a live ", KindName(k), " handle (freed or invalid)");
  Throw(AX_ERR_INVALID_HANDLE, what, " is a ", KindName(it->second), " handle, expected ", KindName(k));
}

void Handles::Check(const void* h, HandleKind k, const char* what) {
  if (!h || !Live(h, k)) Fail(h, k, what);
}

void Handles::CheckItem(const void* h, HandleKind k, const char* fn, const char* name, int i) {
  if (!h || !Live(h, k)) Fail(h, k, StrCat(fn, ": ", name, "[", i, "]"));
}

int64_t Handles::Count() {
  std::lock_guard<std::mutex> lk(mu_);
  return static_cast<int64_t>(live_.size());
}

void CheckArrayArg(const void* p, int n, const char* fn, const char* name, const char* count_name) {
  AX_CHECK(n >= 0, AX_ERR_INVALID_ARGUMENT, fn, ": ", count_name, " is negative (", n, ")");
  AX_CHECK(n == 0 || p, AX_ERR_INVALID_ARGUMENT, fn, ": argument '", name, "' is NULL (", count_name, " is ", n, ")");
}

AxNDArrayHandle NewHandle(NDArray a) {
  auto* h = new AxNDArray_{std::move(a)};
  Handles::Get()->Add(h, HandleKind::kNDArray);
  return h;
}

}  // namespace axle
