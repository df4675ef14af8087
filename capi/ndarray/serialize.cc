#include "ndarray/serialize.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace axle {
namespace {

constexpr uint64_t kFileMagic = 0x112;
constexpr uint32_t kMagicV1 = 0xF993FAC8;  // no storage type
constexpr uint32_t kMagicV2 = 0xF993FAC9;  // storage type; ndim 0 means "none"
constexpr uint32_t kMagicV3 = 0xF993FACA;  // numpy shapes: ndim 0 is a scalar, -1 is "none"

template <class T>
void Put(std::string* out, T v) {
  out->append(reinterpret_cast<const char*>(&v), sizeof(T));
}

// A bounds-checked reader: every read names the file and what was being read.
class Reader {
 public:
  Reader(const char* p, size_t n, const std::string& what) : p_(p), n_(n), what_(what) {}
  template <class T>
  T Get(const char* field) {
    Need(sizeof(T), field);
    T v;
    std::memcpy(&v, p_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  const char* Take(size_t n, const char* field) {
    Need(n, field);
    const char* r = p_ + pos_;
    pos_ += n;
    return r;
  }
  size_t left() const { return n_ - pos_; }
  [[noreturn]] void Fail(const std::string& msg) const {
    Throw(AX_ERR_IO, "invalid NDArray file ", what_, ": ", msg, " (at byte ", pos_, ")");
  }

 private:
  void Need(size_t n, const char* field) {
    if (n > n_ - pos_) Fail(StrCat("truncated while reading ", field, " (", n, " bytes needed, ", n_ - pos_, " left)"));
  }
  const char* p_;
  size_t n_;
  size_t pos_ = 0;
  std::string what_;
};

// 0-d and zero-size arrays exist only with numpy shapes (v3 records).
bool NeedsNumpyShape(const NDArray& a) { return a.shape().ndim() == 0 || a.shape().Size() == 0; }

// MXNet 1.9.1 writes v2 records, or v3 records for every array of a file saved with numpy
// shapes; it cannot read a file that mixes the two.
bool ValidUtf8(const std::string& s) {
  size_t i = 0, n = s.size();
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    int len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > n) return false;
    for (int k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += len;
  }
  return true;
}

void WriteArray(std::string* out, const NDArray& a, bool v3) {
  const TShape& s = a.shape();
  Put<uint32_t>(out, v3 ? kMagicV3 : kMagicV2);
  Put<int32_t>(out, 0);  // dense storage
  Put<int32_t>(out, s.ndim());
  for (int i = 0; i < s.ndim(); ++i) Put<int64_t>(out, s[i]);
  Context c = a.ctx();
  Put<int32_t>(out, c.dev_type);
  Put<int32_t>(out, c.dev_id);
  Put<int32_t>(out, a.dtype());
  size_t start = out->size();
  out->resize(start + a.nbytes());
  a.SyncCopyToCPU(&(*out)[start], a.nbytes());
}

NDArray ReadArray(Reader* r) {
  uint32_t magic = r->Get<uint32_t>("record magic");
  TShape shape;
  bool np_shape = magic == kMagicV3;
  if (magic == kMagicV1 || magic == kMagicV2 || magic == kMagicV3) {
    if (magic != kMagicV1) {
      int32_t stype = r->Get<int32_t>("storage type");
      if (stype != 0) r->Fail(StrCat("sparse storage (type ", stype, ") is not supported"));
    }
    int32_t ndim = r->Get<int32_t>("ndim");
    if (ndim < -1 || ndim > kMaxNDim) r->Fail(StrCat("invalid ndim ", ndim));
    if (ndim == -1 || (ndim == 0 && !np_shape)) return NDArray(TShape{0}, Context::CPU(), AX_FLOAT32);  // "none"
    shape = TShape(ndim, 0);
    for (int i = 0; i < ndim; ++i) shape[i] = r->Get<int64_t>("dimension");
  } else {  // the oldest format: the magic is ndim, dims are uint32
    uint32_t ndim = magic;
    if (ndim > static_cast<uint32_t>(kMaxNDim)) r->Fail(StrCat("unknown record magic 0x", std::hex, magic));
    if (ndim == 0) return NDArray(TShape{0}, Context::CPU(), AX_FLOAT32);
    shape = TShape(static_cast<int>(ndim), 0);
    for (uint32_t i = 0; i < ndim; ++i) shape[i] = r->Get<uint32_t>("dimension");
  }
  for (int i = 0; i < shape.ndim(); ++i)
    if (shape[i] < 0) r->Fail(StrCat("negative dimension in shape ", shape.str()));
  r->Get<int32_t>("device type");
  r->Get<int32_t>("device id");
  int32_t flag = r->Get<int32_t>("dtype");
  if (!ValidDType(flag)) r->Fail(StrCat("dtype flag ", flag, " is not supported"));
  int64_t n;
  try {
    n = CheckedSize(shape, "NDArray");
  } catch (const Error& e) {
    r->Fail(e.what());
  }
  size_t item = DTypeSize(flag);
  if (static_cast<uint64_t>(n) > r->left() / item) {
    uint64_t need;
    bool over = __builtin_mul_overflow(static_cast<uint64_t>(n), static_cast<uint64_t>(item), &need);
    r->Fail(StrCat("the array of shape ", shape.str(), " needs ", over ? std::string("more than 2^64") : std::to_string(need),
                   " bytes, only ", r->left(), " left"));
  }
  NDArray a(shape, Context::CPU(), flag);
  const char* data = r->Take(a.nbytes(), "array data");
  if (a.nbytes() > 0) std::memcpy(a.dptr(), data, a.nbytes());  // an empty array may have no memory
  return a;
}

}  // namespace

std::string SaveParams(const std::vector<NDArray>& arrays, const std::vector<std::string>& names) {
  AX_CHECK(names.empty() || names.size() == arrays.size(), AX_ERR_INVALID_ARGUMENT, "save: ", arrays.size(),
           " arrays but ", names.size(), " names");
  std::string out;
  Put<uint64_t>(&out, kFileMagic);
  Put<uint64_t>(&out, 0);
  Put<uint64_t>(&out, arrays.size());
  bool v3 = false;
  for (auto& a : arrays) v3 |= NeedsNumpyShape(a);
  for (auto& a : arrays) WriteArray(&out, a, v3);
  Put<uint64_t>(&out, names.size());
  for (auto& n : names) {
    Put<uint64_t>(&out, n.size());
    out += n;
  }
  return out;
}

void SaveParamsFile(const std::string& fname_in, const std::vector<NDArray>& arrays,
                    const std::vector<std::string>& names) {
  std::string bytes = SaveParams(arrays, names);
  // Write beside the target and rename, so a failed save never destroys an existing file.
  // A symbolic link is written through (its target is replaced), and the old file's mode is kept.
  std::string fname = fname_in;
  struct stat st;
  if (lstat(fname.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
    char* real = realpath(fname.c_str(), nullptr);
    if (real) {
      fname = real;
      std::free(real);
    }
  }
  bool had_mode = stat(fname.c_str(), &st) == 0;
  AX_CHECK(!(had_mode && S_ISDIR(st.st_mode)), AX_ERR_IO, "save: '", fname_in, "' is a directory");
  static std::atomic<uint64_t> counter{0};
  std::string tmp = StrCat(fname, ".axle-tmp-", getpid(), "-", counter.fetch_add(1));
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    AX_CHECK(f.good(), AX_ERR_IO, "save: cannot open '", fname, "' for writing");
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    f.close();
    if (!f.good()) {
      std::remove(tmp.c_str());
      Throw(AX_ERR_IO, "save: writing '", fname, "' failed");
    }
  }
  if (had_mode) chmod(tmp.c_str(), st.st_mode & 07777);
  if (std::rename(tmp.c_str(), fname.c_str()) != 0) {
    std::remove(tmp.c_str());
    Throw(AX_ERR_IO, "save: cannot replace '", fname, "'");
  }
}

void LoadParams(const char* data, size_t size, const std::string& what, std::vector<NDArray>* arrays,
                std::vector<std::string>* names) {
  Reader r(data, size, what);
  uint64_t magic = r.Get<uint64_t>("file magic");
  if (magic != kFileMagic) r.Fail(StrCat("not an NDArray file (magic 0x", std::hex, magic, ", expected 0x112)"));
  r.Get<uint64_t>("reserved field");
  uint64_t n = r.Get<uint64_t>("array count");
  if (n > r.left() / 4) r.Fail(StrCat("array count ", n, " is larger than the file could hold"));
  std::vector<NDArray> out;
  out.reserve(n);
  for (uint64_t i = 0; i < n; ++i) out.push_back(ReadArray(&r));
  uint64_t k = r.Get<uint64_t>("name count");
  if (k != 0 && k != n) r.Fail(StrCat(k, " names for ", n, " arrays"));
  std::vector<std::string> nm;
  nm.reserve(k);
  for (uint64_t i = 0; i < k; ++i) {
    uint64_t len = r.Get<uint64_t>("name length");
    if (len > r.left()) r.Fail(StrCat("name length ", len, " exceeds the file"));
    const char* p = r.Take(len, "name");
    nm.emplace_back(p, len);
    if (!ValidUtf8(nm.back())) r.Fail(StrCat("name ", i, " is not valid UTF-8"));
  }
  arrays->swap(out);
  names->swap(nm);
}

void LoadParamsFile(const std::string& fname, std::vector<NDArray>* arrays, std::vector<std::string>* names) {
  struct stat st;
  AX_CHECK(stat(fname.c_str(), &st) == 0, AX_ERR_IO, "load: cannot open '", fname, "': no such file");
  AX_CHECK(!S_ISDIR(st.st_mode), AX_ERR_IO, "load: '", fname, "' is a directory, not an NDArray file");
  std::ifstream f(fname, std::ios::binary);
  AX_CHECK(f.good(), AX_ERR_IO, "load: cannot open '", fname, "'");
  std::ostringstream ss;
  ss << f.rdbuf();
  std::string bytes = ss.str();
  LoadParams(bytes.data(), bytes.size(), "'" + fname + "'", arrays, names);
}

}  // namespace axle
