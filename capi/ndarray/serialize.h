// MXNet 1.x's binary .params format (see tests/data/params/FORMAT.md).
#pragma once
#include <string>
#include <vector>

#include "ndarray/ndarray.h"

namespace axle {

// names empty: a list; else one name per array.
std::string SaveParams(const std::vector<NDArray>& arrays, const std::vector<std::string>& names);
void SaveParamsFile(const std::string& fname, const std::vector<NDArray>& arrays, const std::vector<std::string>& names);
// Parses bytes (what: the file name for messages). Arrays land on cpu(0).
void LoadParams(const char* data, size_t size, const std::string& what, std::vector<NDArray>* arrays,
                std::vector<std::string>* names);
void LoadParamsFile(const std::string& fname, std::vector<NDArray>* arrays, std::vector<std::string>* names);

}  // namespace axle
