package org.advmia.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The JSON writer/reader used for CLI output, configs' identities and the results database. */
class JsonTest {
    @Test
    void doublesRoundTripExactlyIncludingSignedZero() {
        double[] values = {0.0, -0.0, 1.0, -3.0, 0.1, 1 / 3.0, 8 / 255.0, 1e-300, 123456789012345.0, 1e20, -2.5e-7};
        for (double v : values) {
            String s = Json.write(v);
            double back = ((Number) Json.parse(s, "test")).doubleValue();
            assertEquals(Double.doubleToRawLongBits(v), Double.doubleToRawLongBits(back), v + " written as " + s);
        }
        assertEquals("-0.0", Json.write(-0.0));
        assertEquals("null", Json.write(Double.NaN));
    }

    @Test
    void nestedValuesAndEscapesRoundTrip() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", "a \"quoted\"\\ line\nnext\ttab");
        m.put("list", List.of(1L, 2.5, true, "x"));
        m.put("none", null);
        String s = Json.write(m);
        assertEquals(m, Json.parse(s, "test"));
    }

    @Test
    void malformedInputNamesTheSourceAndOffset() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Json.parse("{\"a\": [1, 2}", "cfg.json"));
        assertTrue(e.getMessage().contains("cfg.json"), e.getMessage());
    }
}
