package org.advmia.data;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class DataSpecTest {
    static String error(String spec) {
        return assertThrows(IllegalArgumentException.class, () -> DataSpec.open(spec)).getMessage();
    }

    @Test
    void errorsListWhatIsValid() {
        String kind = error("imagenet:/data");
        assertTrue(kind.contains("unknown kind 'imagenet'") && kind.contains("synthetic:NAME") && kind.contains("medmnist:PATH.npz")
                && kind.contains("csv:PATH.csv?root=DIR&size=N") && kind.contains("seg:DIR") && kind.contains("idx:DIR"), kind);
        assertTrue(error("lesions").contains("has no kind"));
        assertTrue(error("").contains("empty data spec"));
        assertTrue(error("medmnist:").contains("names no file"));
        String gen = error("synthetic:cats");
        assertTrue(gen.contains("unknown synthetic generator 'cats'") && gen.contains("lesions, lesion-seg"), gen);
        String key = error("synthetic:lesions?sz=28");
        assertTrue(key.contains("unknown key 'sz'") && key.contains("size, channels, n, val, test, seed"), key);
        assertTrue(error("synthetic:lesions?size=abc").contains("size=abc is not an integer"));
        assertTrue(error("synthetic:lesions?size=4").contains("size=4 is outside [8, 1024]"));
        assertTrue(error("synthetic:lesions?channels=2").contains("channels must be 1 or 3"));
        assertTrue(error("synthetic:lesions?n=5&n=6").contains("key 'n' given twice"));
        assertTrue(error("idx:/no/such/dir").contains("/no/such/dir: no such directory"));
        assertTrue(error("seg:/no/such/dir").contains("/no/such/dir: no such directory"));
        assertTrue(error("csv:/no/such.csv?val=1.5").contains("val=1.5 is not a fraction"));
    }
}
