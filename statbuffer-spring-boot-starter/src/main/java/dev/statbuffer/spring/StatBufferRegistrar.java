package dev.statbuffer.spring;

import dev.statbuffer.StatBuffer;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import org.springframework.beans.factory.support.BeanDefinitionRegistry;
import org.springframework.beans.factory.support.RootBeanDefinition;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.bind.handler.IgnoreErrorsBindHandler;
import org.springframework.context.EnvironmentAware;
import org.springframework.context.annotation.ImportBeanDefinitionRegistrar;
import org.springframework.core.ResolvableType;
import org.springframework.core.env.Environment;
import org.springframework.core.type.AnnotationMetadata;

/**
 * Registers one bean per key of {@code statbuffer.buffers}: named after the buffer, of type
 * {@code StatBuffer<String>}, made by {@link StatBufferRegistry#buffer(String)}, never lazy (so a
 * bad declaration fails start-up even with lazy initialization), closed on destruction.
 *
 * <p>Only the names are read here, ignoring bad values: {@link StatBufferProperties} binds them
 * again when the registry is made, and a bad value fails there with Spring Boot's bind error
 * naming the property.
 */
final class StatBufferRegistrar implements ImportBeanDefinitionRegistrar, EnvironmentAware {
  /** Set by Spring (EnvironmentAware) before it calls registerBeanDefinitions. */
  private @Nullable Environment environment;

  @Override
  public void setEnvironment(Environment environment) {
    this.environment = environment;
  }

  @Override
  public void registerBeanDefinitions(AnnotationMetadata metadata,
      BeanDefinitionRegistry registry) {
    Environment environment = Objects.requireNonNull(this.environment,
        "Spring sets the Environment before it registers bean definitions");
    Map<String, StatBufferProperties.Buffer> declared = Binder.get(environment)
        .bind("statbuffer.buffers",
            Bindable.mapOf(String.class, StatBufferProperties.Buffer.class),
            new IgnoreErrorsBindHandler())
        .orElse(Map.of());
    for (String name : declared.keySet()) {
      if (registry.containsBeanDefinition(name)) {
        throw new StatBufferConfigurationException("statbuffer.buffers." + name,
            "the buffer's bean would be named '" + name + "', and a bean of that name exists.",
            "rename the buffer.");
      }
      RootBeanDefinition definition = new RootBeanDefinition();
      definition.setTargetType(ResolvableType.forClassWithGenerics(StatBuffer.class,
          String.class));
      definition.setFactoryBeanName(StatBufferRegistry.BEAN_NAME);
      definition.setFactoryMethodName("buffer");
      definition.getConstructorArgumentValues().addIndexedArgumentValue(0, name);
      definition.setLazyInit(false);
      definition.setDestroyMethodName("close");
      registry.registerBeanDefinition(name, definition);
    }
  }
}
