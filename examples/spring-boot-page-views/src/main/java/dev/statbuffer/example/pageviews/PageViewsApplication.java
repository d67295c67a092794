package dev.statbuffer.example.pageviews;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * The page-views application: Spring MVC on embedded Tomcat, a HikariCP {@code DataSource} to
 * PostgreSQL, and the {@code page-views} buffer that the StatBuffer starter declares from
 * {@code application.yml}.
 *
 * <pre>
 * java -jar page-views.jar --server.port=8080 \
 *     --spring.datasource.url=jdbc:postgresql://127.0.0.1:5432/test \
 *     --spring.datasource.username=postgres
 * </pre>
 */
@SpringBootApplication
public class PageViewsApplication {

  /** Not instantiated by hand: Spring creates the one configuration instance. */
  PageViewsApplication() {
  }

  /**
   * Starts the application.
   *
   * @param args Spring Boot command-line arguments ({@code --name=value} properties)
   */
  public static void main(String[] args) {
    SpringApplication.run(PageViewsApplication.class, args);
  }
}
