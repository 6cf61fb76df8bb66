// causal.h — the causal order among the ops of one object.
//
// Built from the ops' parents and previous-op links; parents outside the set (authority ops,
// the author's work on other objects) are ignored. Small sets (one record's ops), so a dense
// bit matrix. Pure.
#pragma once

#include <functional>
#include <vector>

#include "crdt/op.h"

namespace anwang {

class CausalOrder {
 public:
  // REQUIRES: ops in (hlc, id) order, so parents come first.
  explicit CausalOrder(const std::vector<const Op*>& ops);
  // True when op `a` is in the causal past of op `b` (a != b).
  bool before(std::size_t a, std::size_t b) const { return a != b && past_[b][a]; }
  // The elements of `subset` that satisfy `keep` and are not before another such element.
  std::vector<std::size_t> maximal(const std::vector<std::size_t>& subset,
                                   const std::function<bool(std::size_t)>& keep) const;

 private:
  std::vector<std::vector<bool>> past_;  // inclusive
};

}  // namespace anwang
