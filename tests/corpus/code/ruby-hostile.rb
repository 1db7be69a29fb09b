before(:each) do
  DatabaseCleaner.allow_remote_database_url = true
  DatabaseCleaner.clean_with(:truncation)
  ActiveRecord::Base.connection.execute(<<~SQL)
    TRUNCATE users;
  SQL
  x = <<-EOS
unterminated heredoc
end
RSpec.configure { |c| c.before(:suite) { ActiveRecord::Tasks::DatabaseTasks.purge_current } }
def f = ActiveRecord::Base.connection.execute("DELETE FROM t #{x}")
%w[a b
