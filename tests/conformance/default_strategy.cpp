// tests/conformance/default_strategy.cpp -- prints csync::default_strategy.
#include "suite.hpp"

namespace {

TEST(Conformance, PrintDefaultStrategy) {
  std::cout << "csync::default_strategy::name = " << csync::default_strategy::name << "\n";
  RecordProperty("default_strategy", std::string(csync::default_strategy::name));
  EXPECT_FALSE(csync::default_strategy::name.empty());
  EXPECT_TRUE(csync::default_strategy::availability().available)
      << "the default strategy must run everywhere";
}

}  // namespace
