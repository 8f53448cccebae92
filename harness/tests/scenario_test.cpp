#include <gtest/gtest.h>
#include "scenario.hpp"
TEST(Scenario, Builds) {}
