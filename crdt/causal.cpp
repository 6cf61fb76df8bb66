#include "crdt/causal.h"

#include <algorithm>
#include <map>

namespace anwang {

CausalOrder::CausalOrder(const std::vector<const Op*>& ops)
    : past_(ops.size(), std::vector<bool>(ops.size(), false)) {
  std::map<Hash32, std::size_t> index;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    index[ops[i]->id] = i;
    past_[i][i] = true;
    std::vector<Hash32> parents = ops[i]->fields.parents;
    if (ops[i]->fields.author_prev) parents.push_back(*ops[i]->fields.author_prev);
    for (const Hash32& parent : parents) {
      auto at = index.find(parent);
      if (at == index.end()) continue;
      for (std::size_t k = 0; k < ops.size(); ++k)
        if (past_[at->second][k]) past_[i][k] = true;
    }
  }
}

std::vector<std::size_t> CausalOrder::maximal(const std::vector<std::size_t>& subset,
                                              const std::function<bool(std::size_t)>& keep) const {
  std::vector<std::size_t> candidates;
  for (std::size_t i : subset)
    if (keep(i)) candidates.push_back(i);
  std::vector<std::size_t> out;
  for (std::size_t a : candidates)
    if (std::none_of(candidates.begin(), candidates.end(), [&](std::size_t b) { return before(a, b); }))
      out.push_back(a);
  return out;
}

}  // namespace anwang
