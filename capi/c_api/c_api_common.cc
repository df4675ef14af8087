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

void Handles::Check(const void* h, HandleKind k, const char* what) {
  AX_CHECK(h != nullptr, AX_ERR_INVALID_ARGUMENT, what, " is NULL");
  std::lock_guard<std::mutex> lk(mu_);
  auto it = live_.find(h);
  if (it == live_.end()) Throw(AX_ERR_INVALID_HANDLE, what, " is not a live ", KindName(k), " handle (freed or invalid)");
  if (it->second != k)
    Throw(AX_ERR_INVALID_HANDLE, what, " is a ", KindName(it->second), " handle, expected ", KindName(k));
}

int64_t Handles::Count() {
  std::lock_guard<std::mutex> lk(mu_);
  return static_cast<int64_t>(live_.size());
}

AxNDArrayHandle NewHandle(NDArray a) {
  auto* h = new AxNDArray_{std::move(a)};
  Handles::Get()->Add(h, HandleKind::kNDArray);
  return h;
}

}  // namespace axle
