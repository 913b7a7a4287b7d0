package org.lethe.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class RunIdsTest {
    @Test
    void sanitizeTurnsAirflowRunIdsIntoRunIds() {
        assertEquals("scheduled__2024-01-01T00_00_00_00_00", RunIds.sanitize("scheduled__2024-01-01T00:00:00+00:00"));
        assertEquals("manual__a_b_c", RunIds.sanitize("manual__a b/c"));
        assertEquals("ok.run-1_x", RunIds.sanitize("ok.run-1_x"));
        assertEquals("caf_", RunIds.sanitize("café"));
        assertTrue(RunIds.isValid(RunIds.sanitize("scheduled__2024-01-01T00:00:00+00:00")));
    }

    @Test
    void validateAcceptsValidIdsAndExplainsInvalidOnes() {
        assertEquals("run-1.2_x", RunIds.validate("run-1.2_x"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RunIds.validate("a:b"));
        assertEquals("invalid run id 'a:b': only [A-Za-z0-9._-] is allowed (sanitized: 'a_b')", e.getMessage());
        assertEquals("run id is empty: expected [A-Za-z0-9._-]+",
                assertThrows(IllegalArgumentException.class, () -> RunIds.validate("")).getMessage());
        assertEquals("job is null: expected [A-Za-z0-9._-]+",
                assertThrows(IllegalArgumentException.class, () -> RunIds.validate(null, "job")).getMessage());
        assertFalse(RunIds.isValid("a/b"));
        // Path segments that name directories, not runs.
        for (String dots : new String[] {".", ".."}) {
            assertFalse(RunIds.isValid(dots));
            assertEquals("invalid run id '" + dots + "': '.' and '..' name directories, not runs",
                    assertThrows(IllegalArgumentException.class, () -> RunIds.validate(dots)).getMessage());
            assertTrue(RunIds.isValid(RunIds.sanitize(dots)), RunIds.sanitize(dots));
        }
        assertTrue(RunIds.isValid("..a") && RunIds.isValid("a."));
    }
}
