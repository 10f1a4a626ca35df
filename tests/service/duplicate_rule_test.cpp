// The text rules of near-duplicate dedup (service/duplicate_rule.h) on the pairs of issue 16,
// and the measurement behind hash-384's bar: the cosines of case, punctuation, spacing and typo
// variants against those of corrected and reworded facts, with the whole rule applied.
#include "service/duplicate_rule.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "embed/hash_embedder.h"

namespace mcpmem {
namespace {

TEST(FactMarks, NumbersAreDigitRunsWithTheirDottedPartsSorted) {
  EXPECT_EQ(fact_marks("Postgres 16 needs pgvector 0.8 on port 5432.").numbers,
            (std::vector<std::string>{"0.8", "16", "5432"}));
  EXPECT_EQ(fact_marks("v1.2.3, 16GB, x86_64").numbers,
            (std::vector<std::string>{"1.2.3", "16", "64", "86"}));
  EXPECT_TRUE(fact_marks("no digits here").numbers.empty());
}

TEST(FactMarks, NegationsAreCountedWithContractionsAsNot) {
  EXPECT_EQ(fact_marks("It doesn't work, it never did and there is no fix").negations,
            (std::vector<std::string>{"never", "no", "not"}));
  EXPECT_EQ(fact_marks("CANNOT, Won’t, dont, 'not'").negations,
            (std::vector<std::string>{"not", "not", "not", "not"}));
  EXPECT_TRUE(fact_marks("a notable nothingness: knot, note, Nobel, snot").negations.empty());
}

TEST(StatesSameFacts, CorrectedFactsOfIssue16AreDifferent) {
  EXPECT_FALSE(
      states_same_facts("Postgres 16 needs pgvector 0.7", "Postgres 17 needs pgvector 0.8"));
  EXPECT_FALSE(
      states_same_facts("Postgres 16 needs pgvector 0.7", "Postgres 16 needs pgvector 0.8"));
  EXPECT_FALSE(states_same_facts("The hub has 8 cores", "The hub has 16 cores"));
  EXPECT_FALSE(states_same_facts("The API listens on port 5432", "The API listens on port 5433"));
  EXPECT_FALSE(states_same_facts("Release 1.2.3 is out", "Release 1.2.4 is out"));
  EXPECT_FALSE(states_same_facts("Backups run at 2am", "Backups run at 2am and 2pm"));
  EXPECT_FALSE(
      states_same_facts("The cache is warm after deploys", "The cache is not warm after deploys"));
  EXPECT_FALSE(states_same_facts("Use tabs, not spaces", "Use tabs, never spaces"));
  EXPECT_FALSE(states_same_facts("Deploy with the migration", "Deploy without the migration"));
}

TEST(StatesSameFacts, CaseOrderAndSpellingOfTheSameFactsAgree) {
  EXPECT_TRUE(
      states_same_facts("Postgres 16 needs pgvector 0.7.", "POSTGRES 16 needs PGVECTOR 0.7"));
  EXPECT_TRUE(states_same_facts("pgvector 0.7 for Postgres 16", "Postgres 16 needs pgvector 0.7"));
  EXPECT_TRUE(states_same_facts("The job doesn't retry", "The job does not retry"));
  EXPECT_TRUE(states_same_facts("The job doesn’t retry", "The job DOESNT retry"));
  EXPECT_TRUE(states_same_facts("It can't fail", "It cannot fail"));
  EXPECT_TRUE(states_same_facts("A notable note", "A knotted note"));  // no negation in either
}

TEST(SameWording, CasePunctuationSpacingAndOneTypoPerWordAreTheSameWording) {
  EXPECT_TRUE(same_wording("Deploys happen on Tuesdays.", "deploys  happen on\nTUESDAYS!!"));
  EXPECT_TRUE(same_wording("The staging database password", "The staging databse password"));
  EXPECT_TRUE(same_wording("runs on a machine", "runs on a machnie"));         // swapped letters
  EXPECT_TRUE(same_wording("Deploys happen weekly", "Deploys hapen weekly"));  // a letter dropped
  EXPECT_TRUE(same_wording("Use Redis here", "Use Reids here"));
  EXPECT_TRUE(same_wording("Releases after the freeze", "Releases after the frezee"));
  EXPECT_TRUE(same_wording("“Café” is open", "\"café\" is open"));
}

TEST(SameWording, AnotherWordIsAnotherStatement) {
  EXPECT_FALSE(same_wording("Deploys happen on Tuesdays", "Deploys happen on Thursdays"));
  EXPECT_FALSE(same_wording("Backups run nightly", "Backups run weekly"));
  EXPECT_FALSE(same_wording("The limit should be raised", "The limit should be lowered"));
  EXPECT_FALSE(same_wording("Alice owns billing", "Bob owns billing"));
  EXPECT_FALSE(same_wording("Kim owns billing", "Tim owns billing"));  // short words: no typos
  EXPECT_FALSE(same_wording("The bucket is in east", "The bucket is in west"));  // first letter
  EXPECT_FALSE(same_wording("Use sync writes", "Use async writes"));
  EXPECT_FALSE(same_wording("Use the v2 API", "Use the v3 API"));
  EXPECT_FALSE(
      same_wording("The key rotates every ninety days", "The key rotates every ninety days now"));
  EXPECT_FALSE(same_wording("Staging uses Postgres", "Staging uses Postgresql"));  // two letters
}

// hash-384, the default embedder, is lexical: its cosine measures shared words, letters and
// word pairs, not meaning. The measurement that chose HashEmbedder::kDuplicateCosine (printed
// for the record): one typo scores 0.64-0.91 by length, and so does another word in its place,
// so the bar cannot tell them apart and the wording rule does; the bar then bounds how much of
// a memory typos may touch. Every variant must be caught by the whole rule, every corrected or
// reworded fact must not.
struct Pair {
  const char* stored;
  const char* incoming;
};

double cosine(const Embedder& e, const char* a, const char* b) {
  auto u = e.embed(a), v = e.embed(b);
  double d = 0;
  for (size_t i = 0; i < u.size(); ++i) d += u[i] * v[i];
  return d;
}

bool is_near_duplicate(const Embedder& e, const Pair& p) {
  return cosine(e, p.stored, p.incoming) >= e.duplicate_cosine() &&
         states_same_facts(p.stored, p.incoming) && same_wording(p.stored, p.incoming);
}

TEST(HashEmbedderDuplicateBar, CatchesVariantsAndNeverCorrectedOrRewordedFacts_Issue16) {
  HashEmbedder e(384);
  ASSERT_EQ(e.duplicate_cosine(), HashEmbedder::kDuplicateCosine);
  const Pair variants[] = {
      {"Postgres 16 needs pgvector 0.7", "postgres 16 NEEDS pgvector 0.7"},
      {"The staging database password rotates every month on the first",
       "The staging database password rotates every month on the first!!"},
      {"Deploys happen on Tuesdays.", "Deploys  happen on \t Tuesdays"},
      {"Deploys happen on Tuesdays", "Deploys hapen on Tuesdays"},
      {"Deploys happen on Tuesdays", "Deploys happen on Tuesdys"},
      {"The staging database password rotates every month on the first",
       "The staging databse password rotates every month on the first"},
      {"Kubernetes ingress timeouts need raising to 120 seconds",
       "Kubernetes ingres timeouts need raising to 120 seconds"},
      {"The hub runs on a machine with 16 cores", "The hub runs on a machnie with 16 cores"},
      {"Use Redis for the session cache in production",
       "Use Reids for the session cache in production"},
      {"Prefer tabs over spaces", "Prefer tabs over spcaes"},
      {"The hub runs Debian", "The hub runs Debain"},
      {"Kim owns billing", "Kim owns biling"},
      {"Releases are cut from the main branch after the freeze",
       "Releases are cut from the mian branch after the frezee"},
  };
  const Pair different[] = {
      {"Postgres 16 needs pgvector 0.7", "Postgres 17 needs pgvector 0.8"},
      {"The hub runs on a machine with 16 cores", "The hub runs on a machine with 8 cores"},
      {"The API listens on port 5432 behind the load balancer",
       "The API listens on port 5433 behind the load balancer"},
      {"The cache is warm after deploys", "The cache is not warm after deploys"},
      {"Deploys happen on Tuesdays", "Deploys happen on Thursdays"},
      {"The staging database password rotates every month on the first",
       "The production database password rotates every month on the first"},
      {"The backup job runs nightly at 2am and writes to the NAS",
       "The backup job runs weekly at 2am and writes to the NAS"},
      {"Use Redis for the session cache in production",
       "Use Memcached for the session cache in production"},
      {"Meeting notes: the API rate limit should be raised for the mobile client",
       "Meeting notes: the API rate limit should be lowered for the mobile client"},
      {"Alice owns the billing service and reviews its releases",
       "Bob owns the billing service and reviews its releases"},
      {"The team decided to adopt Litestream for replication of the hub database",
       "The team decided against adopting Litestream for replication of the hub database"},
      {"The deploy key rotates every ninety days", "The deploy key rotates every ninety days now"},
      {"The hub backs up to the NAS every night", "The NAS is backed up by the laptop every week"},
  };
  // Accepted misses: one typo in three words moves too much of the vector (an extra memory is
  // the cost; a lost correction would be worse).
  const Pair missed[] = {{"Use tabs always", "Use tabs alwyas"}};
  double lowest_variant = 1, highest_substitution = 0;
  for (const Pair& p : variants) {
    const double c = cosine(e, p.stored, p.incoming);
    std::printf("variant    %.4f  %s | %s\n", c, p.stored, p.incoming);
    lowest_variant = std::min(lowest_variant, c);
    EXPECT_TRUE(is_near_duplicate(e, p)) << c << " " << p.stored << " | " << p.incoming;
  }
  for (const Pair& p : different) {
    const double c = cosine(e, p.stored, p.incoming);
    std::printf("different  %.4f  %s | %s\n", c, p.stored, p.incoming);
    if (states_same_facts(p.stored, p.incoming)) {
      highest_substitution = std::max(highest_substitution, c);
    }
    EXPECT_FALSE(is_near_duplicate(e, p)) << c << " " << p.stored << " | " << p.incoming;
  }
  for (const Pair& p : missed) {
    const double c = cosine(e, p.stored, p.incoming);
    std::printf("missed     %.4f  %s | %s\n", c, p.stored, p.incoming);
    EXPECT_FALSE(is_near_duplicate(e, p)) << c << " " << p.stored << " | " << p.incoming;
  }
  // Why the wording rule exists: a changed word scores above the weakest typo.
  EXPECT_GT(highest_substitution, lowest_variant);
}

}  // namespace
}  // namespace mcpmem
