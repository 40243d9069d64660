// Test helper shared by engine_test and the fuzz target: Engine::load with
// some NV_* settings for its duration (value nullptr: unset), each restored
// afterwards (the engine reads them at load).
#pragma once

#include <cstdlib>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine.h"

inline std::unique_ptr<nv::Engine> loadWith(const std::vector<uint8_t>& img,
                                            std::initializer_list<std::pair<const char*, const char*>> env) {
  std::vector<std::pair<const char*, std::string>> saved;  // name, value ("\x01": was unset)
  for (const auto& [name, value] : env) {
    const char* old = std::getenv(name);
    saved.emplace_back(name, old ? old : "\x01");
    if (value) setenv(name, value, 1);
    else unsetenv(name);
  }
  nv::LoadError err;
  auto e = nv::Engine::load(img.data(), img.size(), &err, nullptr);
  for (const auto& [name, old] : saved) {
    if (old == "\x01") unsetenv(name);
    else setenv(name, old.c_str(), 1);
  }
  return e;
}
