/*
 * The date an out-of-office reply says its sender is back (classify_date.c).
 * Internal to the classifier.
 */
#ifndef NURTURE_CLASSIFY_DATE_H
#define NURTURE_CLASSIFY_DATE_H

#include <stddef.h>
#include <stdint.h>

#include "classify_rules.h"

/*
 * Look for a return date in s[0..n) (valid UTF-8, borrowed) with the cue,
 * date, month and weekday rules of r, using md as scratch.  msg_date (Unix
 * time, 0 when unknown) supplies a missing year and anchors a weekday.
 * 1 with "YYYY-MM-DD" in out; 0 with out "" when no date is stated.
 */
int nt_classify_return_date(const nt_classify_rules *r, nt_rules_match *md, const char *s, size_t n,
                            int64_t msg_date, char out[11]);

#endif
