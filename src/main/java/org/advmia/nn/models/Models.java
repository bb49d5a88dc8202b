package org.advmia.nn.models;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.advmia.data.DatasetInfo;
import org.advmia.data.Task;
import org.advmia.nn.Init;
import org.advmia.nn.Model;

/**
 * The model registry: builds a model by its command-line name, with the full-size defaults of
 * each architecture. Besides the fixed names, "wrn-D-W" builds any WideResNet of depth D and
 * widen factor W (e.g. wrn-16-4). See docs/MODEL_NAMES.md.
 */
public final class Models {
    private Models() {}

    /** What a model needs to be built: channels, classes and the input size. */
    public record Spec(int inChannels, int classes, int height, int width) {}

    public interface Factory {
        Model create(Spec spec, Init init);
    }

    /** The generic WideResNet name; the parameters go in the name itself. */
    public static final String WRN_PATTERN = "wrn-D-W";
    private static final Pattern WRN = Pattern.compile("wrn-(\\d{1,4})-(\\d{1,4})");

    private static final Map<String, Factory> FACTORIES = new LinkedHashMap<>();

    static {
        FACTORIES.put("smallcnn", (s, i) -> new SmallCnn(s.inChannels(), s.classes(), s.height(), s.width(), i));
        FACTORIES.put("resnet18", (s, i) -> new ResNet18(s.inChannels(), s.classes(), i));
        FACTORIES.put("preact-resnet18", (s, i) -> new PreActResNet18(s.inChannels(), s.classes(), i));
        FACTORIES.put("mobilenetv2", (s, i) -> new MobileNetV2(s.inChannels(), s.classes(), i));
        FACTORIES.put("wrn-28-10", (s, i) -> new WideResNet(s.inChannels(), s.classes(), 28, 10, i));
        // The ImageNet stem divides the size by 4 before the first block; small images keep it.
        FACTORIES.put("densenet121", (s, i) -> new DenseNet121(s.inChannels(), s.classes(),
                Math.min(s.height(), s.width()) < 64 ? DenseNet121.Stem.CIFAR : DenseNet121.Stem.IMAGENET, i));
        FACTORIES.put("unet", (s, i) -> new UNet(s.inChannels(), s.classes(), i));
        FACTORIES.put("segnet", (s, i) -> new SegNet(s.inChannels(), s.classes(), i));
    }

    /** The fixed registered names, in registration order (the generic wrn-D-W is not among them). */
    public static Iterable<String> names() {
        return FACTORIES.keySet();
    }

    /** Every accepted name form, for help texts and error messages. */
    public static List<String> nameForms() {
        List<String> all = new ArrayList<>(FACTORIES.keySet());
        all.add(WRN_PATTERN);
        return all;
    }

    /** Throws the "unknown model ... Valid models: ..." error unless name is a registered form. */
    public static void requireKnown(String name) {
        String key = name.toLowerCase();
        if (FACTORIES.containsKey(key) || WRN.matcher(key).matches()) return;
        throw new IllegalArgumentException("unknown model '" + name + "'. Valid models: " + String.join(", ", nameForms()));
    }

    public static Model create(String name, Spec spec, Init init) {
        String key = name.toLowerCase();
        Factory f = FACTORIES.get(key);
        if (f != null) return f.create(spec, init);
        Matcher m = WRN.matcher(key);
        if (m.matches()) {
            return new WideResNet(spec.inChannels(), spec.classes(), Integer.parseInt(m.group(1)),
                    Integer.parseInt(m.group(2)), init);
        }
        throw new IllegalArgumentException("unknown model '" + name + "'. Valid models: "
                + String.join(", ", nameForms()));
    }

    /** Builds a registered model for a dataset, checking that the model suits the dataset's task. */
    public static Model forData(String name, DatasetInfo info, long seed) {
        Model m = create(name, new Spec(info.channels(), info.classes(), info.height(), info.width()), Init.seeded(seed));
        boolean segData = info.task() == Task.SEGMENTATION, segModel = m.task() == Model.Task.SEGMENTATION;
        if (segData != segModel) {
            m.close();
            throw new IllegalArgumentException("--model " + name + " is a " + (segModel ? "segmentation" : "classification")
                    + " model but --data " + info.name() + " is a " + info.task().name().toLowerCase() + " dataset");
        }
        return m;
    }
}
