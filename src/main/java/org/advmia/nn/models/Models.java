package org.advmia.nn.models;

import java.util.LinkedHashMap;
import java.util.Map;
import org.advmia.nn.Init;
import org.advmia.nn.Model;

/** The model registry: builds a model by its command-line name. */
public final class Models {
    private Models() {}

    /** What a model needs to be built: channels, classes and the input size. */
    public record Spec(int inChannels, int classes, int height, int width) {}

    public interface Factory {
        Model create(Spec spec, Init init);
    }

    private static final Map<String, Factory> FACTORIES = new LinkedHashMap<>();

    static {
        FACTORIES.put("smallcnn", (s, i) -> new SmallCnn(s.inChannels(), s.classes(), s.height(), s.width(), i));
        FACTORIES.put("resnet18", (s, i) -> new ResNet18(s.inChannels(), s.classes(), i));
    }

    public static Iterable<String> names() {
        return FACTORIES.keySet();
    }

    public static Model create(String name, Spec spec, Init init) {
        Factory f = FACTORIES.get(name.toLowerCase());
        if (f == null) {
            throw new IllegalArgumentException("unknown model '" + name + "'. Valid models: "
                    + String.join(", ", FACTORIES.keySet()));
        }
        return f.create(spec, init);
    }
}
