// Typed op attributes parsed from strings (what dmlc::Parameter does for MXNet).
//
//   struct ClipParam { double a_min, a_max; };
//   void Describe(ParamBuilder<ClipParam>& b) {
//     b.Field("a_min", &ClipParam::a_min).Describe("Minimum value");
//   }
//
// Each field knows its MXNet-style type string ("int, optional, default='1'"), parses and
// validates its string value, and fills a default when the attribute is absent.
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/base.h"

namespace axle {

using OptInt = std::optional<int64_t>;
using IntTuple = std::vector<int64_t>;
using OptIntTuple = std::vector<OptInt>;  // "(None, 2, -1)" for slice bounds
using OptDouble = std::optional<double>;  // "double or None" (softmax temperature)
using OptBool = std::optional<bool>;      // "boolean or None" (softmax use_length)

// String <-> value conversions; Parse* throw a message naming the expected type.
bool ParseValue(const std::string& s, int* out);
bool ParseValue(const std::string& s, int64_t* out);
bool ParseValue(const std::string& s, double* out);
bool ParseValue(const std::string& s, float* out);
bool ParseValue(const std::string& s, bool* out);
bool ParseValue(const std::string& s, std::string* out);
bool ParseValue(const std::string& s, OptInt* out);
bool ParseValue(const std::string& s, IntTuple* out);
bool ParseValue(const std::string& s, OptIntTuple* out);
bool ParseValue(const std::string& s, OptDouble* out);
bool ParseValue(const std::string& s, OptBool* out);
std::string FormatValue(int v);
std::string FormatValue(int64_t v);
std::string FormatValue(double v);
std::string FormatValue(float v);
std::string FormatValue(bool v);
std::string FormatValue(const std::string& v);
std::string FormatValue(const OptInt& v);
std::string FormatValue(const IntTuple& v);
std::string FormatValue(const OptIntTuple& v);
std::string FormatValue(const OptDouble& v);
std::string FormatValue(const OptBool& v);
const char* TypeName(const int*);
const char* TypeName(const int64_t*);
const char* TypeName(const double*);
const char* TypeName(const float*);
const char* TypeName(const bool*);
const char* TypeName(const std::string*);
const char* TypeName(const OptInt*);
const char* TypeName(const IntTuple*);
const char* TypeName(const OptIntTuple*);
const char* TypeName(const OptDouble*);
const char* TypeName(const OptBool*);

struct ParamField {
  std::string name;
  std::string type;          // the base type, e.g. "int" or "{'max', 'avg'}"
  std::string default_str;   // empty when required
  bool required = true;
  std::string doc;
  // Parses s into the field of obj; returns an error message or "".
  std::function<std::string(void* obj, const std::string& s)> parse;
  std::function<void(void* obj)> set_default;

  std::string TypeString() const {  // "int, optional, default='1'" as MXNet prints it
    return required ? type + ", required" : type + ", optional, default='" + default_str + "'";
  }
};

struct ParamSchema {
  std::vector<ParamField> fields;
  std::function<std::shared_ptr<void>()> create;
};

// Declares the fields of P. A field given a default is optional, else required.
template <class P>
class ParamBuilder {
 public:
  explicit ParamBuilder(ParamSchema* s) : s_(s) {
    s_->create = [] { return std::static_pointer_cast<void>(std::make_shared<P>()); };
  }

  class FieldRef {
   public:
    explicit FieldRef(ParamField* f) : f_(f) {}
    FieldRef& Describe(const std::string& d) { f_->doc = d; return *this; }
   private:
    ParamField* f_;
  };

  template <class T>
  FieldRef Field(const char* name, T P::*member) {
    ParamField f;
    f.name = name;
    f.type = TypeName(static_cast<const T*>(nullptr));
    f.parse = [member](void* obj, const std::string& s) -> std::string {
      T v;
      if (!ParseValue(s, &v)) return StrCat("expected ", TypeName(static_cast<const T*>(nullptr)), ", got '", s, "'");
      static_cast<P*>(obj)->*member = v;
      return "";
    };
    s_->fields.push_back(std::move(f));
    return FieldRef(&s_->fields.back());
  }
  template <class T, class D>
  FieldRef Field(const char* name, T P::*member, D default_value) {
    FieldRef r = Field(name, member);
    ParamField& f = s_->fields.back();
    T v = static_cast<T>(default_value);
    f.set_default = [member, v](void* obj) { static_cast<P*>(obj)->*member = v; };
    f.default_str = FormatValue(v);
    f.required = false;
    return r;
  }

  // An int field holding the index of one of names; -1 stands for "None" when allow_none.
  // default_name "" makes it required.
  FieldRef Enum(const char* name, int P::*member, std::vector<std::string> names, const std::string& default_name,
                bool allow_none = false) {
    ParamField f;
    f.name = name;
    std::string t = "{";
    if (allow_none) t += "None, ";
    for (size_t i = 0; i < names.size(); ++i) t += (i ? ", '" : "'") + names[i] + "'";
    t += "}";
    f.type = t;
    auto lookup = [names, allow_none](const std::string& s, int* v) {
      if (allow_none && s == "None") { *v = -1; return true; }
      for (size_t i = 0; i < names.size(); ++i)
        if (s == names[i]) { *v = static_cast<int>(i); return true; }
      return false;
    };
    f.parse = [member, lookup, t](void* obj, const std::string& s) -> std::string {
      int v;
      if (!lookup(s, &v)) return StrCat("expected one of ", t, ", got '", s, "'");
      static_cast<P*>(obj)->*member = v;
      return "";
    };
    if (!default_name.empty()) {
      int v = 0;
      if (!lookup(default_name, &v)) Throw(AX_ERR_RUNTIME, "bad default '", default_name, "' for ", name);
      f.set_default = [member, v](void* obj) { static_cast<P*>(obj)->*member = v; };
      f.default_str = default_name;
      f.required = false;
    }
    s_->fields.push_back(std::move(f));
    return FieldRef(&s_->fields.back());
  }

 private:
  ParamSchema* s_;
};

// Builds the schema of P from its Describe(ParamBuilder<P>&) function.
template <class P>
ParamSchema MakeSchema(void (*describe)(ParamBuilder<P>&)) {
  ParamSchema s;
  s.fields.reserve(64);  // FieldRef points into the vector: no reallocation while describing
  ParamBuilder<P> b(&s);
  describe(b);
  return s;
}

}  // namespace axle
